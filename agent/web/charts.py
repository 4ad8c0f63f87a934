"""Small charts of past interactions, drawn server-side as inline SVG.

Pure functions from data to an SVG string: no JavaScript, no inline ``style`` (CSP forbids
inline styles; SVG presentation attributes are allowed), a ``<title>`` and ``aria-label``
that say in words what the bars show, so the chart reads without sight too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

COLOURS = {"in": "#2f6fba", "out": "#2e9d6a", "meeting": "#c27c0e"}
KIND_ORDER = ("out", "in", "meeting")
WORDS = {"in": "from them", "out": "from you", "meeting": "meetings"}


@dataclass(frozen=True)
class Bin:
    start: datetime
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def weekly_bins(points: Iterable[tuple[datetime, str]], *, end: datetime, weeks: int) -> list[Bin]:
    """Count points per kind in ``weeks`` consecutive weeks ending at ``end``."""
    start = end - timedelta(weeks=weeks)
    bins = [Bin(start + timedelta(weeks=i), {}) for i in range(weeks)]
    for at, kind in points:
        if not (start <= at < end):
            continue
        idx = min(weeks - 1, int((at - start) / timedelta(weeks=1)))
        counts = bins[idx].counts
        counts[kind] = counts.get(kind, 0) + 1
    return bins


def describe_gap(days: float | None) -> str:
    """Days as people say them: "~3 days", "~3 weeks", "~4 months"."""
    if days is None:
        return "unknown"
    if days < 10:
        return f"~{max(1, round(days))} day{'s' if round(days) > 1 else ''}"
    if days < 70:
        return f"~{round(days / 7)} weeks"
    if days < 548:
        return f"~{round(days / 30.4)} months"
    return f"~{days / 365:.1f} years"


def rhythm_sentence(typical_gap_days: float | None, silence_days: int | None) -> str:
    """ "usually every ~3 weeks; silent for 9 weeks" (either half when known)."""
    parts = []
    if typical_gap_days:
        parts.append(f"usually every {describe_gap(typical_gap_days)}")
    if silence_days is not None:
        if silence_days < 14:
            parts.append(f"silent for {silence_days} day{'s' if silence_days != 1 else ''}")
        else:
            parts.append(f"silent for {silence_days // 7} weeks")
    return "; ".join(parts)


def interaction_chart(
    points: Iterable[tuple[datetime, str]],
    *,
    end: datetime,
    weeks: int = 52,
    width: int = 320,
    height: int = 56,
    expected_at: datetime | None = None,
    label: str = "Interactions",
) -> str:
    """A stacked weekly bar chart (mail from you, from them, meetings), newest on the right;
    a dashed line where the next contact was expected, if within the window."""
    bins = weekly_bins(points, end=end, weeks=weeks)
    peak = max((b.total for b in bins), default=0) or 1
    bar_w = width / weeks
    plot_h = height - 4
    total = {k: sum(b.counts.get(k, 0) for b in bins) for k in KIND_ORDER}
    summary = ", ".join(f"{total[k]} {WORDS[k]}" for k in KIND_ORDER)
    title = f"{label}, last {weeks} weeks: {summary}"
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" '
        f'preserveAspectRatio="none">',
        f"<title>{escape(title)}</title>",
        f'<line x1="0" y1="{height - 1}" x2="{width}" y2="{height - 1}" stroke="#999" '
        'stroke-width="1"/>',
    ]
    for i, b in enumerate(bins):
        y = height - 1.0
        for kind in KIND_ORDER:
            n = b.counts.get(kind, 0)
            if not n:
                continue
            h = max(1.5, plot_h * n / peak)
            y -= h
            parts.append(
                f'<rect x="{i * bar_w + 0.5:.1f}" y="{y:.1f}" width="{max(1.0, bar_w - 1):.1f}" '
                f'height="{h:.1f}" fill="{COLOURS[kind]}"><title>week of {b.start:%d %b %Y}: '
                f"{n} {WORDS[kind]}</title></rect>"
            )
    start = end - timedelta(weeks=weeks)
    if expected_at is not None and start <= expected_at <= end:
        x = width * (expected_at - start) / (end - start)
        parts.append(
            f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height}" stroke="#b3261e" '
            'stroke-width="1.5" stroke-dasharray="3 2"><title>next contact was expected '
            f"{expected_at:%d %b %Y}</title></line>"
        )
    parts.append("</svg>")
    return "".join(parts)
