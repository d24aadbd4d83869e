"""``mfsim plot``, ``mfsim list`` and ``mfsim keys``: what a run holds and
what a scenario may say."""

from __future__ import annotations

import sys
from pathlib import Path

from .._errors import clean
from .common import EXIT_OK


def cmd_plot(args) -> int:
    from .._errors import MfsimError
    from .._runner.lock import run_lock
    from .._runner.manifest import Manifest
    from .._store.io import recording
    from .._store.points import draw_figures
    from .._store.results import RESULTS_FILE, open_results

    run_dir = Path(args.run_dir)
    if not (run_dir / RESULTS_FILE).is_file():
        raise MfsimError(f"{run_dir}: no {RESULTS_FILE} here; is this a run directory?")
    ds = open_results(run_dir)
    from ..plotting import left_out, plan

    planned = plan(ds)
    if args.list:
        for figure in planned:
            print(clean(f"{figure.stem}.{args.format}: {figure.reason}"))
        for line in left_out(ds):
            print(clean(f"  not drawn: {line}"))
        return EXIT_OK
    stems = {figure.stem for figure in planned}
    figures_asked = [n for n in args.names if n in stems]
    args.var = list(args.var) + [n for n in args.names if n not in stems]
    chosen = args.var or args.x or args.y or args.out or "auto" not in (args.xscale,
                                                                         args.yscale)
    if chosen:
        return _plot_chosen(args, ds, run_dir)
    # the figures are the run directory's: named in its manifest, never while a run writes
    with run_lock(run_dir), recording(Manifest(run_dir).record):
        figures = draw_figures(ds, run_dir, ds.attrs.get("scenario"), [args.format],
                               names=figures_asked or None)
    for path in figures:
        print(clean(str(path)))
    return EXIT_OK


def _plot_chosen(args, ds, run_dir: Path) -> int:
    """``mfsim plot --var ...``: the chosen figures, into the run directory
    (or ``--out``)."""
    from .._errors import MfsimError
    from .._runner.lock import run_lock
    from .._runner.manifest import Manifest
    from .._store.io import recording
    from .._store.points import inside
    from ..plotting import chosen_figures, save_figure

    if not args.var:
        raise MfsimError("mfsim plot: --x, --y, --xscale, --yscale and --out choose how to draw "
                         "the variables named with --var NAME; name at least one")
    names = [n.strip() for value in args.var for n in value.split(",") if n.strip()]
    try:
        figures = chosen_figures(ds, names, x=args.x, y=args.y, xscale=args.xscale,
                                 yscale=args.yscale, title=ds.attrs.get("scenario"))
    except ValueError as err:
        raise MfsimError(f"{run_dir}: {err}") from None
    if args.out:
        if len(figures) != 1:
            raise MfsimError(f"--out names one file; these options draw {len(figures)} figures "
                             "(name one --var, or leave --out off)")
        out = Path(args.out)
        if out.suffix.lstrip(".") not in ("png", "svg", "pdf"):
            raise MfsimError(f"--out {clean(str(out))}: the suffix picks the format; allowed "
                             ".png, .svg, .pdf")
        paths = [save_figure(figures[0][1], out, title=ds.attrs.get("scenario"))]
    else:
        with run_lock(run_dir), recording(Manifest(run_dir).record):
            paths = [save_figure(fig, inside(run_dir, f"{stem}.{args.format}"),
                                 title=ds.attrs.get("scenario")) for stem, fig in figures]
    for path in paths:
        print(clean(str(path)))
    return EXIT_OK


def cmd_list(args) -> int:
    from .._errors import MfsimError
    from .._scenario.catalog import CATEGORIES, format_catalog

    for category in args.category:
        if category not in CATEGORIES:
            raise MfsimError(f"list: unknown category {category!r}; allowed: "
                             f"{', '.join(CATEGORIES)}")
    # as this very code listed it before (no JAX import), unless entries were added
    print(format_catalog(args.category or CATEGORIES, cached=_shipped_entries(args)), end="")
    return EXIT_OK


def _shipped_entries(args) -> bool:
    """Whether the registry can hold only mfsim's own entries: no --plugin,
    and nothing registered in this process (a script calling main)."""
    registry = sys.modules.get("mfsim._scenario.registry")
    return not args.plugin and (registry is None or registry.built_in_only())


def _reference_page(args) -> str:
    """The scenario-key reference page; without plugins, as this very code
    made it before (:mod:`mfsim._store.derived_cache`: no registry, no JAX)."""
    def make() -> str:
        from .._scenario.keys import keys_markdown

        return keys_markdown()

    if not _shipped_entries(args):
        return make()
    from .._store.derived_cache import cached_text

    return cached_text("keys", make)


def cmd_keys(args) -> int:
    from .._errors import MfsimError
    from .._scenario.reference_page import section_of

    page = _reference_page(args)
    if args.section is None:
        print(page, end="")
        return EXIT_OK
    try:
        print(section_of(page, args.section), end="")
    except ValueError as err:
        raise MfsimError(f"keys: {clean(str(err))}") from None
    return EXIT_OK
