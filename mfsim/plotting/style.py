"""The look of every figure: sizes, fonts, palettes, line styles, and saving.

Figures are drawn on a bare :class:`matplotlib.figure.Figure` with the Agg
canvas (no display, no pyplot state), typeset for a paper: at most
:data:`MAX_WIDTH` inches wide (a two-column page), 7-8 pt text with
mathtext symbols, Okabe and Ito's colour-blind-safe palette for categories
(:data:`PALETTE`; past its size, palette x line style x marker, so no two
entries look alike) and a sequential colormap (:data:`SEQUENTIAL`) for
ordered values (time, width, learning rate, degree), fonts embedded as text
in PDF/SVG, PNGs at :data:`DPI`. The scenario's name goes into the file's
metadata, not into a title.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np

# Okabe & Ito (2008), colour-blind safe; yellow left out (faint on white), black
# kept for closed forms and references
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00")
REFERENCE_COLOR = "black"
SEQUENTIAL = "viridis"
# the end of viridis is yellow, faint on white: ordered colours stop short of it
SEQUENTIAL_RANGE = (0.0, 0.85)
LINE_STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P")
# network, then each twin
SYSTEM_DASHES = ("-", ":", "-.", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)))
REFERENCE_DASHES = ((0, (4, 2)), (0, (1, 1.5)), (0, (5, 1, 1, 1)), (0, (8, 2)),
                    (0, (2, 2, 6, 2)))
SINGLE = (4.8, 3.2)  # inches: one figure, 1.5 columns of a two-column paper
PANEL = (2.35, 2.1)  # inches: one panel of a grid (three per page width)
MAX_WIDTH = 7.2  # inches: a two-column page
MIN_FONT = 6.0  # points
DPI = 200
PAPER_RC = {
    "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
    "xtick.labelsize": 7, "ytick.labelsize": 7, "lines.linewidth": 1.2,
    "legend.framealpha": 0.85, "pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none",
    "mathtext.fontset": "dejavusans", "axes.formatter.limits": (-3, 4),
    "axes.formatter.use_mathtext": False,
}


def categorical(i: int) -> dict:
    """The i-th category's look: a palette colour, and past the palette's
    size a line style and marker too (no two alike)."""
    n = len(PALETTE)
    return {"color": PALETTE[i % n], "linestyle": LINE_STYLES[(i // n) % len(LINE_STYLES)],
            "marker": MARKERS[(i // n) % len(MARKERS)] if i >= n else None}


def ordered_colors(n: int) -> list:
    """``n`` colours along the sequential colormap (ordered values)."""
    import matplotlib

    cmap = matplotlib.colormaps[SEQUENTIAL]
    lo, hi = SEQUENTIAL_RANGE
    return [cmap(v) for v in (np.linspace(lo, hi, n) if n > 1 else [lo])]


def darker(color, amount: float = 0.45):
    """``color`` mixed with black."""
    from matplotlib.colors import to_rgb

    return tuple((1 - amount) * c for c in to_rgb(color))


def paper(draw):
    """Run a figure function under :data:`PAPER_RC` and tidy its log axes."""
    @functools.wraps(draw)
    def wrapped(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(PAPER_RC):
            fig = draw(*args, **kwargs)
            for ax in fig.axes:
                tidy_log_ticks(ax)
            declutter_ticks(fig)
            # the layout is final: frozen, so that saving (and the lint) do not
            # solve it again (a third of the time a figure took)
            fig.set_layout_engine(None)
        return fig
    return wrapped


def _labels_overlap(labels, renderer) -> bool:
    boxes = [t.get_window_extent(renderer) for t in labels]
    return any(min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5 and min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5
               for a, b in zip(boxes, boxes[1:]))


def in_view(axis, loc) -> bool:
    """Whether a tick at ``loc`` is inside the axis' view (so drawn)."""
    if loc is None:
        return False
    with np.errstate(all="ignore"):
        lo, hi, at = axis.get_transform().transform(
            np.asarray([*axis.get_view_interval(), loc], float))
    lo, hi = min(lo, hi), max(lo, hi)
    span = (hi - lo) * 1e-9
    return bool(np.isfinite(at) and lo - span <= at <= hi + span)


def _drawn_labels(axis):
    ticks = [t for t in axis.get_major_ticks() if in_view(axis, t.get_loc())]
    labels = [t.label1 for t in ticks if t.label1.get_visible() and t.label1.get_text().strip()]
    key = (lambda t: t.get_window_extent().x0) if axis.axis_name == "x" else (
        lambda t: t.get_window_extent().y0)
    return sorted(labels, key=key)


CELL_GID = "mfsim-cell"  # a phase diagram's cell value, kept only where it fits its cell


def _drop_cells_that_do_not_fit(ax, renderer) -> bool:
    """A heatmap's cell values (texts tagged CELL_GID) removed, all of them,
    when one is wider or taller than its cell as laid out (the colourbar
    gives the values); returns whether any was removed."""
    texts = [t for t in ax.texts if t.get_gid() == CELL_GID]
    images = ax.get_images()
    if not texts or not images:
        return False
    rows, cols = np.shape(images[0].get_array())[:2]
    box = ax.get_window_extent(renderer)
    cell_w, cell_h = box.width / cols, box.height / rows
    for t in texts:
        size = t.get_window_extent(renderer)
        if size.width + 2 > cell_w or size.height + 1 > cell_h:
            for u in texts:
                u.remove()
            return True
    return False


def declutter_ticks(fig, passes: int = 4) -> None:
    """Tick labels that run into each other once laid out: on an axis with
    ticks at chosen values, every other label dropped; on an automatic axis,
    fewer ticks; a heatmap's cell values that do not fit their cells,
    removed. One draw per pass, every axis fixed in it; then x labels moved
    below a y label they run into at the corner."""
    from matplotlib.ticker import FixedLocator, MaxNLocator

    for _ in range(passes):
        fig.canvas.draw()  # rendered: a PNG is written from this render (save_figure)
        renderer = fig.canvas.get_renderer()
        changed = False
        for ax in fig.axes:
            if not ax.get_visible():
                continue
            changed |= _drop_cells_that_do_not_fit(ax, renderer)
            for axis in (ax.xaxis, ax.yaxis):
                labels = _drawn_labels(axis)
                if len(labels) < 2 or not _labels_overlap(labels, renderer):
                    continue
                changed = True
                locator = axis.get_major_locator()
                if isinstance(locator, FixedLocator):
                    texts = [t.get_text() for t in axis.get_ticklabels()]
                    keep = set([i for i, t in enumerate(texts) if t][::2])
                    axis.set_ticks(axis.get_ticklocs(),
                                   [t if i in keep else "" for i, t in enumerate(texts)])
                elif axis.get_scale() == "log":
                    axis.set_major_locator(_fewer_log_ticks(axis, len(labels)))
                else:
                    axis.set_major_locator(MaxNLocator(nbins=max(2, len(labels) // 2)))
        if not changed:
            break
    else:
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    moved = False
    for ax in fig.axes:
        xs, ys = _drawn_labels(ax.xaxis), _drawn_labels(ax.yaxis)
        if not (xs and ys) or not ax.get_visible():
            continue
        low = ys[0].get_window_extent(renderer)
        hit = [x.get_window_extent(renderer) for x in xs[:2]
               if _labels_overlap([x, ys[0]], renderer)]
        if hit:
            depth = max(h.y1 for h in hit) - low.y0
            pad = ax.xaxis.get_major_ticks()[0].get_pad()
            ax.xaxis.set_tick_params(pad=pad + depth * 72 / fig.dpi + 1)
            moved = True
    if moved:
        fig.canvas.draw()


def _fewer_log_ticks(axis, shown: int):
    """The next sparser labelling of a log axis whose labels overlap: 1..9
    times a power of ten, then 1, 2, 5 times, then powers of ten (never
    fewer than two labels in view where the sparser one would leave less)."""
    from matplotlib.ticker import LogLocator

    subs = tuple(np.atleast_1d(getattr(axis.get_major_locator(), "_subs", (1.0,))))
    lo, hi = sorted(axis.get_view_interval())
    for sparser in ((1.0, 2.0, 5.0), (1.0, 5.0), (1.0,)):
        if len(sparser) >= len(subs):
            continue
        locator = LogLocator(10.0, subs=sparser, numticks=max(2, shown // 2 + 1))
        inside = [v for v in locator.tick_values(lo, hi) if lo <= v <= hi]
        if len(inside) >= 2 or sparser == (1.0,):
            return locator
    return LogLocator(10.0, subs=(1.0,), numticks=max(2, shown // 2 + 1))


def _log_labels_fit(ax, axis, lo: float, hi: float, subs) -> bool:
    """Whether labels at ``subs`` times the powers of ten in [lo, hi] are
    spaced enough on ``axis`` (its length estimated from the axes' place
    before layout: a colourbar is short) not to run into each other."""
    fig = ax.get_figure()
    pos = ax.get_position()
    along = (pos.width * fig.get_figwidth() if axis is ax.xaxis
             else pos.height * fig.get_figheight()) * 72 * 0.8
    ticks = np.array([m * 10.0**k for k in range(int(np.floor(np.log10(lo))),
                                                  int(np.ceil(np.log10(hi))) + 1) for m in subs])
    ticks = np.log10(ticks[(ticks >= lo) & (ticks <= hi)])
    if ticks.size < 2:
        return True
    gap = np.min(np.diff(ticks)) / (np.log10(hi) - np.log10(lo)) * along
    return gap >= (22.0 if axis is ax.xaxis else 10.0)


def tidy_log_ticks(ax) -> None:
    """Labelled ticks on a log axis that never overlap: labels on 1, 2, 5
    (or every integer) times a power of ten only where the axis spans few
    decades, none on minor ticks."""
    from matplotlib.ticker import (
        FixedLocator,
        FuncFormatter,
        LogLocator,
        NullFormatter,
        NullLocator,
    )

    for axis, limits in ((ax.xaxis, ax.get_xlim), (ax.yaxis, ax.get_ylim)):
        if (axis.get_scale() != "log" or not axis.get_visible()
                or isinstance(axis.get_major_locator(), FixedLocator)):  # ticks set by hand
            continue
        lo, hi = sorted(limits())
        if not (lo > 0 and np.isfinite(hi)):
            continue
        decades = np.log10(hi) - np.log10(lo)
        powers = np.floor(np.log10(hi)) - np.ceil(np.log10(lo)) + 1  # powers of ten shown
        subs = ((1.0, 2.0, 5.0) if decades < 1.5 or powers < 2 else (1.0,))
        if decades < 1.0 and _log_labels_fit(ax, axis, lo, hi, np.arange(1.0, 10.0)):
            subs = np.arange(1.0, 10.0)  # under a decade: 0.2, 0.3, ... 0.8 where they fit
        numticks = 7 if axis is ax.xaxis else 8
        axis.set_major_locator(LogLocator(10.0, subs=subs, numticks=numticks))
        if len(subs) > 1:  # every tick labelled, as a number (0.2, 0.5, 3e-4)
            axis.set_major_formatter(FuncFormatter(lambda v, _: fmt(float(v))))
        else:  # powers of ten, in plain text (mathtext parsing was half of a figure's time)
            axis.set_major_formatter(FuncFormatter(lambda v, _: power_of_ten(float(v))))
        axis.set_minor_formatter(NullFormatter())
        if decades > 4:  # minor ticks only where they help reading (and each costs a draw)
            axis.set_minor_locator(NullLocator())


def figure(width=SINGLE[0], height=SINGLE[1]):
    """A bare figure with constrained layout (never wider than MAX_WIDTH)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # drawn at the dpi it is saved at: text is laid out and rendered once
    fig = Figure(figsize=(min(width, MAX_WIDTH), height), layout="constrained", dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def grid(n: int, *, cols: int = 3, width: float = PANEL[0], height: float = PANEL[1],
         extra_height: float = 0.0):
    """A figure of ``n`` panels, ``cols`` to a row; returns (figure, axes)."""
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    fig = figure(width * cols, height * rows + extra_height)
    spec = fig.add_gridspec(rows, cols)
    return fig, [fig.add_subplot(spec[k // cols, k % cols]) for k in range(n)]


def display_len(text: str) -> float:
    """About how many characters wide ``text`` is drawn (mathtext commands
    count as one character, braces and markup as none; sub- and
    superscripts as 0.7)."""
    import re as _re  # text, not variable names

    plain, math = [], []
    for k, part in enumerate(text.split("$")):
        (math if k % 2 else plain).append(part)
    n = sum(len(p) for p in plain)
    for m in math:
        m = m.replace("\\mathdefault", "")
        m = _re.sub(r"\\[a-zA-Z]+", "x", m)
        scripts = len(_re.findall(r"[_^]", m))
        m = _re.sub(r"[{}_^\\ ]", "", m)
        n += len(m) - 0.3 * scripts
    return n


def _words(text: str) -> list[str]:
    """``text`` split at spaces outside mathtext."""
    words, word, inside = [], "", False
    for ch in text:
        if ch == "$":
            inside = not inside
        if ch == " " and not inside:
            words.append(word)
            word = ""
        else:
            word += ch
    return [w for w in words + [word] if w]


def title(ax, text: str, *shorter: str, **kw) -> None:
    """A one-line panel title, shrunk (not wrapped: a formula is never broken)
    until it fits its axes; else the first of the ``shorter`` forms that
    fits; else the last form cut at a word with an ellipsis (never inside a
    formula)."""
    width_pt = 0.9 * ax.get_position().width * ax.get_figure().get_figwidth() * 72
    for candidate in (text, *shorter):
        for size in (8.0, 7.0, 6.5, MIN_FONT):
            if display_len(candidate) * 0.55 * size <= width_pt:
                ax.set_title(candidate, fontsize=size, **kw)
                return
    text = (text, *shorter)[-1]
    out = ""
    for word in _words(text):  # whole words, a formula being one word
        if display_len(f"{out} {word} …") * 0.55 * MIN_FONT > width_pt:
            break
        out = f"{out} {word}".strip()
    ax.set_title(out.rstrip(",;") + " …", fontsize=MIN_FONT, **kw)


_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076"
                             "\u2077\u2078\u2079")


def power_of_ten(v: float) -> str:
    """A tick at a power of ten as 10 with a superscript exponent (plain
    text, no mathtext: 10⁻³); 1 and 10 as they are."""
    if not (v > 0 and np.isfinite(v)):
        return ""
    k = int(np.round(np.log10(v)))
    if not np.isclose(v, 10.0**k, rtol=1e-9):
        return fmt(v)
    if k in (0, 1):
        return str(10**k)
    return "10" + str(k).translate(_SUPERSCRIPT)


def fmt(v) -> str:
    """A value as a label: 3 significant digits, powers of ten as 1e-4."""
    if isinstance(v, float | np.floating | int | np.integer):
        v = float(v)
        if v.is_integer() and abs(v) < 1e6:
            return str(int(v))
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            mantissa, exp = f"{v:.2e}".split("e")
            mantissa = mantissa.rstrip("0").rstrip(".")
            return f"{mantissa}e{int(exp)}"
        return f"{v:.3g}"
    return str(v)


def wrap_label(text: str, length_pt: float, size: float = 8.0) -> str:
    """``text`` in as many lines as it needs to fit ``length_pt`` points (at
    about 0.5 em a character), broken at spaces outside mathtext only."""
    if display_len(text) * 0.55 * size <= length_pt:
        return text
    lines, line = [], ""
    for word in _words(text):
        trial = f"{line} {word}".strip()
        if line and display_len(trial) * 0.55 * size > length_pt:
            lines.append(line)
            line = word
        else:
            line = trial
    lines.append(line)
    return "\n".join(lines)


def set_labels(ax, xlabel: str | None = None, ylabel: str | None = None) -> None:
    """Axis labels wrapped to the axes' size (a long y label is broken into
    lines instead of running off the figure)."""
    fig = ax.get_figure()
    pos = ax.get_position()
    if xlabel is not None:
        ax.set_xlabel(wrap_label(xlabel, 0.95 * pos.width * fig.get_figwidth() * 72))
    if ylabel is not None:
        ax.set_ylabel(wrap_label(ylabel, 0.8 * pos.height * fig.get_figheight() * 72))


def legend_outside(ax, handles, *, ncol: int | None = None, where: str = "right"):
    """The legend beside (``right``) or below (``below``) the axes, never
    over its data; constrained layout makes room for it."""
    if not handles:
        return None
    fig = ax.get_figure()
    if where == "below":
        ncol = ncol or min(3, len(handles))
        return ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.22),
                         ncol=ncol, fontsize=6.5, frameon=False)
    # in columns that fit beside the axes, the figure widened for them (one panel)
    rows = max(1, int((fig.get_figheight() * 72 - 48) / (6.5 * 1.75)))
    ncol = ncol or -(-len(handles) // rows)
    longest = max(len(str(h.get_label())) for h in handles)
    need = ncol * (0.45 + longest * 0.5 * 6.5 / 72)
    if len(fig.axes) <= 2:
        fig.set_figwidth(min(MAX_WIDTH, max(fig.get_figwidth(), SINGLE[0] - 1.2 + need)))
    return ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                     fontsize=6.5, frameon=False, ncol=ncol)


def figure_legend(fig, handles, *, ncol: int | None = None):
    """One legend for all panels, below them."""
    if not handles:
        return None
    if ncol is None:  # as many columns as fit the figure's width
        widths = sorted((0.4 + len(str(h.get_label())) * 0.5 * 6.5 / 72 for h in handles),
                        reverse=True)
        ncol = 1
        while ncol < min(4, len(handles)) and widths[0] * (ncol + 1) <= fig.get_figwidth():
            ncol += 1
    else:
        widest = max(0.4 + len(str(h.get_label())) * 0.5 * 6.5 / 72 for h in handles)
        ncol = max(1, min(ncol, int(fig.get_figwidth() // widest)))
    return fig.legend(handles=handles, loc="outside lower center", ncol=ncol, fontsize=6.5,
                      frameon=False)


def save_figure(fig, path: str | Path, *, title: str | None = None) -> Path:
    """Write ``fig`` atomically; the format is the path's suffix (png, svg,
    pdf; vector formats keep text as text). ``title`` (the scenario's name)
    goes into the file's metadata."""
    import matplotlib

    from .._store.io import atomic_write

    path = Path(path)
    fmt_ = path.suffix.lstrip(".")
    buffer = io.BytesIO()
    metadata = {"Title": title} if title else None
    if fmt_ == "svg" and metadata:
        metadata = {"Title": title}
    if fmt_ == "png" and not fig.stale and fig.dpi == DPI:
        # drawn at its final layout and not changed since: the render is the PNG
        from PIL import Image, PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_text("Software", f"matplotlib version{matplotlib.__version__}, "
                      "https://matplotlib.org/")
        if title:
            info.add_text("Title", title)
        image = Image.frombuffer("RGBA", fig.canvas.get_width_height(physical=True),
                                 fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        image.save(buffer, format="png", pnginfo=info, dpi=(DPI, DPI), compress_level=4)
    else:
        with matplotlib.rc_context(PAPER_RC):
            fig.savefig(buffer, format=fmt_, dpi=DPI, metadata=metadata)
    atomic_write(path, buffer.getvalue())
    return path
