"""What every command shares: exit statuses, the one-line argument parser,
the options read by several commands, and the transient loading line."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# every piece of a user's input that is printed goes through clean (no terminal injection)
from .._errors import clean, listing  # noqa: F401 (listing: for the commands)

STARTED = time.perf_counter()  # (the launcher imports the command line first)


EXIT_OK, EXIT_USAGE, EXIT_FAILED, EXIT_INCOMPLETE, EXIT_INTERRUPTED = 0, 2, 3, 4, 130


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, status 2 (argparse's default prints usage)
        print(f"mfsim: {clean(message)} (see 'mfsim --help')", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def plugin_option(parser) -> None:
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                        help="import this module first (a name importable from the working "
                             "directory, or a .py file): it may register systems, tasks and "
                             "monitors with mfsim.register_entries; repeatable. Scenario files "
                             "never load code")


def plugin_paths(names: list[str]) -> list[str]:
    """``--plugin`` values for other processes: a ``.py`` file by its absolute path."""
    return [str(Path(n).resolve()) if n.endswith(".py") else n for n in names]


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {clean(text)!r}")
    return value


def set_values(args) -> dict:
    from .._scenario.assignment import parse_assignment

    return dict(parse_assignment(text) for text in args.set)


def shipped_or_path(name: str) -> str:
    """A shipped scenario's name (``quickstart``, as ``mfsim list scenarios``
    shows it) stands for its file, unless a file of that name exists here."""
    import difflib

    from .._errors import MfsimError
    from .._scenario.catalog import SCENARIO_DIR, shipped_scenarios

    stem = name.removesuffix(".toml")
    if Path(name).exists() or "/" in name or not stem.replace("_", "").isalnum():
        return name
    shipped = SCENARIO_DIR / f"{stem}.toml"
    if shipped.is_file():
        return str(shipped)
    names = [n.removesuffix(".toml") for n, _ in shipped_scenarios()]
    close = difflib.get_close_matches(stem, names, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise MfsimError(f"{clean(name)}: no such file, and no shipped scenario of that name{hint}; "
                     "mfsim list scenarios names them")


SHOWN: list[str] = []  # the transient line on the terminal, if one is shown


def loading(line: str) -> None:
    """Say at once, on a terminal, what the command waits for (JAX takes
    seconds to import); :func:`loaded` erases it."""
    sys.stderr.write(line)
    sys.stderr.flush()
    SHOWN.append(line)


def loaded() -> None:
    """Erase :func:`loading`'s line: what follows (a refusal, the bar)
    starts on a clean line."""
    if SHOWN:
        SHOWN.clear()
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()
