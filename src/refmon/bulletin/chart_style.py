"""The look every bulletin chart shares, and its SVG for inlining in the page.

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
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib as mpl
from matplotlib.figure import Figure

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
def style() -> Iterator[None]:
    with mpl.rc_context(_STYLE):
        yield


def svg(fig: Figure, name: str, description: str) -> str:
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


def percent_tick(axis_value: float, _position: float) -> str:
    return f"{round(100 * axis_value, 4):g}%"
