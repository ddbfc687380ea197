"""The bulletin's charts: matplotlib figures written as SVG, inlined in the page.

No pyplot (no global figure state, no GUI backend): each chart is a Figure
drawn on its own canvas. Text stays text in the SVG (searchable, readable by
screen readers, and testable), and every element id is made unique to its
chart, since several SVGs share one HTML document. Artists the tests look for
carry ids of their own, `rm-<chart>-point-<FORCE>` and `rm-<chart>-label-<FORCE>`.

Colours are the Okabe-Ito palette, safe for the common colour-vision
deficiencies, and a status is never told by colour alone: each has its marker.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter
from matplotlib.transforms import Bbox

from refmon.streams.engine.funnel import limits_at

BLUE = "#0072B2"
ORANGE = "#E69F00"
VERMILLION = "#D55E00"
SKY = "#56B4E9"
GREEN = "#009E73"
PURPLE = "#CC79A7"
GREY = "#6E6E6E"
INK = "#1A1A1A"

STATUS_STYLE: dict[Any, Any] = {
    # status: (colour, marker, size, label)
    "ok": (BLUE, "o", 5.5, "within the limits"),
    "alert": (ORANGE, "^", 8.0, "alert: beyond 95 %"),
    "alarm": (VERMILLION, "s", 7.5, "alarm: beyond 99.8 %"),
}

_STYLE: dict[Any, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "refmon-bulletin",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10,
    "axes.edgecolor": GREY,
    "axes.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": GREY,
    "ytick.color": GREY,
    "xtick.labelcolor": INK,
    "ytick.labelcolor": INK,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 9,
}


@contextmanager
def _style() -> Iterator[None]:
    with mpl.rc_context(_STYLE):
        yield


def _svg(fig: Figure, name: str, description: str) -> str:
    """The figure as an SVG element for inlining: no XML prologue, ids unique to `name`."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    prefix = f"{name}-"
    # matplotlib's own ids (clip paths, markers, groups) would repeat across charts.
    text = re.sub(r'id="(?!rm-)([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', text)
    text = re.sub(r"url\(#(?!rm-)([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", text)
    text = re.sub(r'href="#(?!rm-)([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', text)
    title = description.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace(
        "<svg ", f'<svg role="img" aria-label="{title.replace(chr(34), "&quot;")}" ', 1
    )


def _percent(axis_value: float, _position: float) -> str:
    return f"{round(100 * axis_value, 4):g}%"


@dataclass(frozen=True, slots=True)
class FunnelPoint:
    force: str
    proportion: float
    denominator: float
    """Both as published (rounded), never the true counts."""
    status: str
    """ok, alert or alarm (forces with too little data are not plotted)."""


@dataclass(frozen=True, slots=True)
class FunnelSpec:
    name: str
    """The measure: compliance, mandatory_share or returned_share."""
    title: str
    y_label: str
    x_label: str
    target: float
    tau2: float
    points: tuple[FunnelPoint, ...]
    highlight: str | None = None
    """A force to pick out (its own bulletin): labelled whatever its status."""


def funnel_svg(spec: FunnelSpec) -> str:
    """A funnel plot: each force at its denominator, the target, and the 95 % and 99.8 %
    limits with the report's over-dispersion (`limits_at`, as the engine computes them)."""
    with _style():
        fig = Figure(figsize=(7.2, 5.0), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        denominators = [p.denominator for p in spec.points]
        lo_n = max(5.0, min(denominators) * 0.7)
        hi_n = max(denominators) * 1.4
        grid = [lo_n * (hi_n / lo_n) ** (i / 200) for i in range(201)]
        curves = [limits_at(spec.target, spec.tau2, n) for n in grid]
        ax.plot(grid, [c.lower_998 for c in curves], color=INK, lw=1.1, label="99.8 % limits")
        ax.plot(grid, [c.upper_998 for c in curves], color=INK, lw=1.1)
        ax.plot(
            grid, [c.lower_95 for c in curves], color=GREY, lw=1.1, ls="--", label="95 % limits"
        )
        ax.plot(grid, [c.upper_95 for c in curves], color=GREY, lw=1.1, ls="--")
        ax.axhline(spec.target, color=GREEN, lw=1.4, label=f"target {100 * spec.target:.1f}%")
        shown: set[str] = set()
        for point in sorted(spec.points, key=lambda p: p.status == "ok", reverse=True):
            colour, marker, size, words = STATUS_STYLE[point.status]
            highlighted = point.force == spec.highlight
            ax.plot(
                [point.denominator],
                [point.proportion],
                marker=marker,
                ms=size + (3 if highlighted else 0),
                mfc=colour,
                mec="white" if not highlighted else INK,
                mew=0.8 if not highlighted else 1.6,
                alpha=0.9,
                ls="none",
                gid=f"rm-{spec.name}-point-{point.force}",
                label=None if point.status in shown else words,
                zorder=3 if point.status == "ok" else 4,
            )
            shown.add(point.status)
        ax.set_xscale("log")
        ax.set_xlim(lo_n, hi_n)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ys = [p.proportion for p in spec.points]
        edge = [c.lower_998 for c in curves] + [c.upper_998 for c in curves]
        y_lo = max(0.0, min([*ys, *edge[: len(curves)]]) - 0.03)
        y_hi = min(1.0, max([*ys, *edge[len(curves) :]]) + 0.03)
        ax.set_ylim(y_lo, y_hi)
        ax.yaxis.set_major_formatter(FuncFormatter(_percent))
        ax.grid(True, axis="y")
        ax.set_title(spec.title)
        ax.set_xlabel(spec.x_label)
        ax.set_ylabel(spec.y_label)
        # Below the plot, where it can hide no point and no limit.
        fig.legend(loc="outside lower center", ncols=3)
        labelled = [
            p for p in spec.points if p.status in {"alert", "alarm"} or p.force == spec.highlight
        ]
        _place_labels(fig, ax, spec, labelled)
        return _svg(fig, f"funnel-{spec.name}", spec.title)


_OFFSETS = [
    (dx * r, dy * r)
    for r in (1.0, 1.8, 2.6, 3.4)
    for dx, dy in ((1, 1), (1, -1), (-1, 1), (-1, -1), (1.4, 0), (-1.4, 0), (0, 1.3), (0, -1.3))
]


def _place_labels(fig: Figure, ax: Axes, spec: FunnelSpec, points: Sequence[FunnelPoint]) -> None:
    """Label each point near it where the label overlaps no other label, no point and no
    legend: the first free spot of a widening ring of candidates (with a leader line once
    it is not right beside the point)."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    fig.draw_without_rendering()
    to_display = ax.transData.transform
    marks = [to_display((p.denominator, p.proportion)) for p in spec.points]
    taken: list[Bbox] = [Bbox.from_bounds(x - 5, y - 5, 10, 10) for x, y in marks]
    legend = ax.get_legend()
    if legend is not None:
        taken.append(legend.get_window_extent(renderer).expanded(1.02, 1.05))
    frame = ax.get_window_extent(renderer)
    for point in sorted(points, key=lambda p: p.denominator):
        xy = (point.denominator, point.proportion)
        best: Text | None = None
        for dx, dy in _OFFSETS:
            text = ax.annotate(
                point.force,
                xy,
                xytext=(dx * 9, dy * 9),
                textcoords="offset points",
                ha="left" if dx > 0 else "right" if dx < 0 else "center",
                va="bottom" if dy > 0 else "top" if dy < 0 else "center",
                fontsize=9,
                fontweight="bold",
                color=INK,
                gid=f"rm-{spec.name}-label-{point.force}",
                arrowprops=(
                    {"arrowstyle": "-", "color": GREY, "lw": 0.6, "shrinkA": 1, "shrinkB": 4}
                    if abs(dx) > 1.5 or abs(dy) > 1.5
                    else None
                ),
                zorder=5,
            )
            box = text.get_window_extent(renderer).expanded(1.12, 1.25)
            inside = frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
            if inside and not any(box.overlaps(other) for other in taken):
                best = text
                taken.append(box)
                break
            text.remove()
        if best is None:  # nowhere free: beside the point, as a last resort
            ax.annotate(
                point.force,
                xy,
                xytext=(9, 9),
                textcoords="offset points",
                fontsize=9,
                fontweight="bold",
                gid=f"rm-{spec.name}-label-{point.force}",
            )


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    x: tuple[datetime, ...]
    y: tuple[float | None, ...]
    colour: str
    style: str = "-"
    marker: str = "o"


def monthly_svg(
    name: str,
    title: str,
    y_label: str,
    series: Sequence[Series],
    *,
    percent: bool,
    band: tuple[float, float] | None = None,
    band_label: str = "",
) -> str:
    """Monthly lines; a month with too few cases behind it (None) is a gap, never a point."""
    with _style():
        fig = Figure(figsize=(7.2, 3.2), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        if band is not None:
            ax.axhspan(*band, color=SKY, alpha=0.18, lw=0, label=band_label)
        for s in series:
            ys = [math.nan if v is None else v for v in s.y]
            ax.plot(
                [_days(x) for x in s.x],
                ys,
                color=s.colour,
                ls=s.style,
                marker=s.marker,
                ms=4,
                lw=1.6,
                label=s.label,
            )
        if percent:
            ax.yaxis.set_major_formatter(FuncFormatter(_percent))
        ax.grid(True, axis="y")
        ax.set_title(title)
        ax.set_ylabel(y_label)
        ax.legend(loc="best", ncols=min(3, len(series) + (band is not None)))
        _month_ticks(ax)
        return _svg(fig, name, title)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _days(moment: datetime) -> float:
    """A moment on a date axis: days since 1970 (matplotlib's own date numbers)."""
    return (moment - _EPOCH) / timedelta(days=1)


def _moment(days: float) -> datetime:
    return _EPOCH + timedelta(days=days)


def _month_ticks(ax: Axes, every: int = 2) -> None:
    """A tick at every `every`-th month start, named (with the year in January)."""
    lo, hi = ax.get_xlim()
    first = _moment(lo)
    year, month = first.year, first.month
    ticks = []
    while True:
        start = datetime(year, month, 1, tzinfo=UTC)
        if _days(start) > hi:
            break
        if _days(start) >= lo and (month - 1) % every == 0:
            ticks.append(_days(start))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(_month_label))


def _month_label(value: float, _position: float) -> str:
    moment = _moment(value)
    return moment.strftime("%b\n%Y") if moment.month == 1 else moment.strftime("%b")


@dataclass(frozen=True, slots=True)
class CusumSpec:
    name: str
    title: str
    x: tuple[datetime, ...]
    cusum: tuple[float, ...]
    signal: tuple[bool, ...]
    h: float
    recent_from: datetime
    window_end: datetime


def cusum_svg(spec: CusumSpec) -> str:
    """The CUSUM after each step, its threshold h, the signals, and the 90 days that count."""
    with _style():
        fig = Figure(figsize=(7.2, 3.2), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.axvspan(
            _days(spec.recent_from),
            _days(spec.window_end),
            color=SKY,
            alpha=0.15,
            lw=0,
            label="last 90 days",
        )
        # The chart is the value just before each reset, then 0: draw the climb to h.
        xs: list[float] = []
        ys: list[float] = []
        for moment, value, signal in zip(spec.x, spec.cusum, spec.signal, strict=True):
            x = _days(moment)
            xs.append(x)
            ys.append(spec.h if signal else value)
            if signal:
                xs.append(x)
                ys.append(0.0)
        ax.step(xs, ys, where="post", color=BLUE, lw=1.5, label="CUSUM")
        ax.axhline(spec.h, color=VERMILLION, lw=1.2, ls="--", label=f"threshold h = {spec.h:g}")
        signals = [_days(x) for x, s in zip(spec.x, spec.signal, strict=True) if s]
        if signals:
            ax.plot(
                signals,
                [spec.h] * len(signals),
                ls="none",
                marker="v",
                ms=8,
                color=VERMILLION,
                label="signal",
                gid=f"rm-{spec.name}-signals",
            )
        ax.set_ylim(0, spec.h * 1.25)
        ax.grid(True, axis="y")
        ax.set_title(spec.title)
        ax.set_ylabel("evidence of lateness")
        ax.legend(loc="upper left", ncols=4)
        _month_ticks(ax)
        return _svg(fig, spec.name, spec.title)


@dataclass(frozen=True, slots=True)
class Panel:
    force: str
    flagged: bool
    x: tuple[datetime, ...]
    y: tuple[float | None, ...]
    signals: tuple[datetime, ...] = ()


def grid_svg(
    name: str,
    title: str,
    panels: Sequence[Panel],
    *,
    reference: tuple[tuple[datetime, ...], tuple[float | None, ...]] | None = None,
    reference_label: str = "",
    threshold: float | None = None,
    percent: bool,
    y_range: tuple[float, float],
    step: bool = False,
) -> str:
    """Small multiples, one panel per force on one shared scale, flagged forces' titles in
    vermillion: a whole country's series at a glance."""
    columns = 4
    rows = math.ceil(len(panels) / columns)
    with _style():
        fig = Figure(figsize=(7.2, 1.25 * rows + 0.6), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
        for ax, panel in zip(axes.flat, panels, strict=False):
            if reference is not None:
                ax.plot(
                    [_days(x) for x in reference[0]],
                    [math.nan if v is None else v for v in reference[1]],
                    color=GREY,
                    lw=1.0,
                    ls="--",
                )
            if threshold is not None:
                ax.axhline(threshold, color=VERMILLION, lw=0.9, ls="--")
            ys = [math.nan if v is None else v for v in panel.y]
            xs = [_days(x) for x in panel.x]
            if step:
                ax.step(xs, ys, where="post", color=BLUE, lw=1.2)
            else:
                ax.plot(xs, ys, color=BLUE, lw=1.4, marker="o", ms=2.5)
            if panel.signals and threshold is not None:
                ax.plot(
                    [_days(x) for x in panel.signals],
                    [threshold] * len(panel.signals),
                    ls="none",
                    marker="v",
                    ms=5,
                    color=VERMILLION,
                )
            ax.set_title(
                panel.force,
                fontsize=9,
                color=VERMILLION if panel.flagged else INK,
                loc="left",
                pad=2,
                gid=f"rm-{name}-panel-{panel.force}",
            )
            ax.set_ylim(*y_range)
            ax.grid(True, axis="y")
            ax.tick_params(labelsize=7.5, length=2)
            if percent:
                ax.yaxis.set_major_formatter(FuncFormatter(_percent))
        for ax in list(axes.flat)[len(panels) :]:
            ax.set_visible(False)
        _month_ticks(axes.flat[0], every=3)
        fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
        if reference is not None and reference_label:
            fig.supxlabel(f"dashed: {reference_label}", fontsize=8.5, color=GREY)
        return _svg(fig, name, title)
