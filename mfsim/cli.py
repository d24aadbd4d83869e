"""Command line: ``mfsim run``, ``mfsim check``, ``mfsim plot``, ``mfsim list``,
``mfsim keys``; for sweeps spread over processes and machines ``mfsim merge``,
``mfsim status`` and ``mfsim submit`` (the commands: :mod:`mfsim._cli`).

Exit status: 0 success (a twin that diverges is a result about the twin,
said on stdout, not a failure); 2 bad input (one line on stderr, no
traceback, no output directory created); 3 a network's solve failed
numerically, at the run or at some point of a sweep (partial results kept);
4 a merge found points still missing (combined as NaN, named on stderr); 130
interrupted.
"""

from __future__ import annotations

import os
import signal
import sys
import warnings

from ._cli.cluster import cmd_merge, cmd_status, cmd_submit
from ._cli.common import EXIT_INTERRUPTED, EXIT_USAGE, loaded, loading, shipped_or_path
from ._cli.inspect import cmd_keys, cmd_list, cmd_plot
from ._cli.parser import parser
from ._cli.run import cmd_check, cmd_run, finished_already
from ._errors import clean
from ._scenario.plugins import load_plugins

COMMANDS = {"run": cmd_run, "check": cmd_check, "plot": cmd_plot, "list": cmd_list,
            "keys": cmd_keys, "merge": cmd_merge, "status": cmd_status, "submit": cmd_submit}
"""Each subcommand's function: ``args`` in, the exit status out."""


def _note_once(own: type[Warning]):
    """A ``warnings.showwarning`` that says every warning as one line of the
    command's (a library's too: numpy's "overflow encountered in cast"
    printed its source line above the message that says what to change),
    each once; warnings not of type ``own`` are prefixed with their type."""
    noted = set()

    def note(message, category, *rest, **kw):
        text = clean(str(message))
        if not issubclass(category, own):
            text = f"{category.__name__}: {text}"
        if text not in noted:
            noted.add(text)
            print(f"mfsim: note: {text}", file=sys.stderr)

    return note


def _prepare(args) -> None:
    """Before the command: a shipped scenario's name becomes its path; a
    rerun of a finished run is found (read back, no JAX); the loading line
    on a terminal; the compilation cache on (or off); the plugins imported."""
    from ._store.compile_cache import disable_compile_cache, enable_compile_cache

    if args.command in ("run", "check", "submit") and args.scenario is not None:
        args.scenario = shipped_or_path(args.scenario)
    if args.command == "run":
        args.finished = finished_already(args)
    quick = args.command == "run" and args.finished is not None
    if args.command == "run" and not (quick or args.quiet) and sys.stderr.isatty():
        loading(f"mfsim: {clean(args.scenario)}: loading mfsim and JAX ...")
    if args.command in ("run", "submit") and args.no_compile_cache and not quick:
        disable_compile_cache()
    elif args.command in ("run", "submit") and not quick:
        enable_compile_cache()  # before anything compiles
    load_plugins(args.plugin)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # JAX's 64-bit mode stays as a Python script finds it: each command switches
    # it on, scoped, for a scenario that needs float64 (as mfsim.run does), so a
    # float32 run here equals the same run from the API, bit for bit
    from ._errors import MfsimError, MfsimWarning

    # SIGTERM (a batch scheduler's stop) ends a run like Ctrl-C: completed
    # points and checkpoints are on disk, and the message says how to resume
    from ._runner import interrupt

    interrupt.begin()
    try:
        previous = signal.signal(signal.SIGTERM, interrupt.on_signal)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    show = warnings.showwarning
    warnings.showwarning = _note_once(MfsimWarning)
    try:
        _prepare(args)
        code = COMMANDS[args.command](args)
        interrupt.finish()  # a signal from here on cannot raise
        return code
    except MfsimError as e:
        interrupt.finish()
        loaded()
        print(f"mfsim: {clean(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as e:
        interrupt.finish()
        loaded()
        print(f"mfsim: {clean(str(e))}" if str(e) else
              "mfsim: interrupted (what was already written is kept)", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        loaded()  # whatever ended the command, the line goes
        warnings.showwarning = show
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


_SECOND = b"mfsim: interrupted again: exiting now (completed points and checkpoints are kept)\n"


def _watch_signals() -> None:
    """A daemon thread woken by the C-level signal handler (through
    ``signal.set_wakeup_fd``), even while the main thread waits inside a
    compiled solve: the first SIGINT/SIGTERM is recorded, so the run stops
    at its next safe point even if Python's KeyboardInterrupt is swallowed;
    a second one exits at once (every file is written atomically, so
    nothing half-written is left)."""
    import threading

    from ._runner.interrupt import request, take_redelivered

    read, write = os.pipe()
    os.set_blocking(write, False)
    signal.set_wakeup_fd(write)
    stops = {int(signal.SIGINT), int(signal.SIGTERM)}

    def watch():
        count = 0
        while True:
            for number in os.read(read, 64):
                if number in stops and not take_redelivered():
                    count += 1
                    request()
                    if count >= 2:
                        os.write(2, _SECOND)
                        os._exit(EXIT_INTERRUPTED)

    threading.Thread(target=watch, name="mfsim-signals", daemon=True).start()


def entry() -> None:
    """The ``mfsim`` command. An interrupted run leaves with ``os._exit``:
    its results are on disk and flushed, and compiled computations the
    interrupt left running on XLA's threads must not meet the interpreter's
    teardown (that ended in a segmentation fault)."""

    from ._runner import interrupt

    _watch_signals()
    sys.unraisablehook = interrupt.unraisable_hook
    signal.signal(signal.SIGINT, interrupt.on_signal)
    signal.signal(signal.SIGTERM, interrupt.on_signal)
    try:
        code = main()
    except KeyboardInterrupt:  # before the command started (parsing its arguments)
        interrupt.finish()
        print("mfsim: interrupted before the command started; nothing was written",
              file=sys.stderr)
        code = EXIT_INTERRUPTED
    # the command has returned (a late signal is only recorded): ignore both
    # signals, so that nothing interrupts or kills the exit
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.stdout.flush()
    sys.stderr.flush()
    if code == EXIT_INTERRUPTED:
        os._exit(code)
    raise SystemExit(code)


if __name__ == "__main__":
    entry()
