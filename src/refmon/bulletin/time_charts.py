"""Charts over months: a monthly series, a CUSUM path with its threshold and signals, and
small multiples of every force on one scale."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter

from refmon.bulletin.chart_style import (
    BLUE,
    GREY,
    INK,
    SKY,
    VERMILLION,
    percent_tick,
    style,
    svg,
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
    with style():
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
            ax.yaxis.set_major_formatter(FuncFormatter(percent_tick))
        ax.grid(True, axis="y")
        ax.set_title(title)
        ax.set_ylabel(y_label)
        ax.legend(loc="best", ncols=min(3, len(series) + (band is not None)))
        _month_ticks(ax)
        return svg(fig, name, title)


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
    with style():
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
        return svg(fig, spec.name, spec.title)


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
    with style():
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
                ax.yaxis.set_major_formatter(FuncFormatter(percent_tick))
        for ax in list(axes.flat)[len(panels) :]:
            ax.set_visible(False)
        _month_ticks(axes.flat[0], every=3)
        fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
        if reference is not None and reference_label:
            fig.supxlabel(f"dashed: {reference_label}", fontsize=8.5, color=GREY)
        return svg(fig, name, title)
