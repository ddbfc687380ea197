"""The funnel plot: each force at its denominator and rate, within limits widened for
over-dispersion, the flagged forces named (labels placed so that none overlaps)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, NullFormatter
from matplotlib.transforms import Bbox

from refmon.bulletin.chart_style import (
    GREEN,
    GREY,
    INK,
    STATUS_STYLE,
    percent_tick,
    style,
    svg,
)
from refmon.streams.engine.funnel import limits_at


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
    with style():
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
        ax.yaxis.set_major_formatter(FuncFormatter(percent_tick))
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
        return svg(fig, f"funnel-{spec.name}", spec.title)


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
