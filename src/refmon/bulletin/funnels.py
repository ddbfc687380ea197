"""The funnel plots, one a measure, with captions naming the flagged forces (both pages)."""

from __future__ import annotations

from refmon.bulletin.data import MEASURES, Measure
from refmon.bulletin.figure import Figure
from refmon.bulletin.funnel_chart import FunnelPoint, FunnelSpec, funnel_svg
from refmon.bulletin.public import Public, number

DENOMINATOR_WORDS = {
    "due": "mandatory cases due",
    "recorded": "cases recorded",
    "decided": "referrals decided",
}


def _funnel(measure: Measure, public: Public, highlight: str | None) -> FunnelSpec | None:
    national = public.national
    target, tau2 = (
        number(national[f"{measure.name}_target_pct"]),
        number(national[f"{measure.name}_tau2"]),
    )
    if target is None or tau2 is None:
        return None
    points = []
    for r in public.forces:
        # Plotted where the tables put it: the published denominator and whole-percent rate.
        n, rate = number(r[measure.denominator]), number(r[f"{measure.name}_pct"])
        if r[f"{measure.name}_status"] != "insufficient_data" and n and rate is not None:
            points.append(
                FunnelPoint(str(r["force"]), rate / 100, n, str(r[f"{measure.name}_status"]))
            )
    if not points:
        return None
    return FunnelSpec(
        measure.name,
        measure.title,
        measure.y_label,
        measure.x_label,
        target / 100,
        tau2,
        tuple(points),
        highlight,
    )


def funnels(public: Public, highlight: str | None) -> list[Figure]:
    """A funnel plot for each measure with limits; `highlight` picks out one force."""
    figures = []
    national = public.national
    for measure in MEASURES:
        spec = _funnel(measure, public, highlight)
        if spec is None:
            continue
        flagged = sorted(p.force for p in spec.points if p.status in {"alert", "alarm"})
        side = "below" if measure.side == "low" else "above"
        phrase = DENOMINATOR_WORDS[measure.denominator]
        unplotted = sorted(
            str(r["force"])
            for r in public.forces
            if r[f"{measure.name}_status"] != "insufficient_data"
            and all(p.force != r["force"] for p in spec.points)
        )
        caption = (
            f"{len(spec.points)} forces, each at its number of {phrase} (rounded to 5) and its "
            f"rate (whole percent). Target {national[f'{measure.name}_target_pct']}% (all forces "
            "together); limits widened for over-dispersion "
            f"(φ = {national[f'{measure.name}_phi']}, τ² = {national[f'{measure.name}_tau2']}). "
            f"Flagged {side} the limits: "
            f"{', '.join(flagged) or 'none'}."
        )
        if unplotted:
            caption += f" Not plotted (rate withheld): {', '.join(unplotted)}."
        figures.append(Figure(f"funnel-{measure.name}", funnel_svg(spec), caption))
    return figures
