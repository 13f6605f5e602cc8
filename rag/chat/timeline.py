"""The timeline of an answer as an SVG: one point per cited document, labelled [n], date on the x-axis,
relevance on the y-axis, with a tooltip (date as printed, title) and month/year ticks that never repeat.

Drawn here rather than by Gradio's ScatterPlot, which lost its points after a follow-up, repeated its tick
labels ("Dec 1963, Dec 1963, Jan 1964 ...") and cannot label points. All text is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.documents.dates import bounds

if TYPE_CHECKING:
    from rag.chat.answer import Answer

WIDTH, HEIGHT = 800, 230
#: The phone layout's width. The SVG scales to its box, so 800 units shown 350 px wide made 12-unit labels 5 px
#: high; a sideways scroll instead hid the later points at 390 px. At 400 units labels stay 10 px or more.
NARROW_WIDTH = 400
LEFT, RIGHT, TOP, BOTTOM = 48, 40, 26, 44  # plot margins inside the SVG (axis labels live there)
MAX_TICKS = 8
NARROW_MAX_TICKS = 4
TICK_STEPS = (1, 2, 3, 6, 12, 24, 60, 120)  # months between ticks; the smallest that keeps <= MAX_TICKS
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@dataclass(frozen=True)
class Point:
    """One cited document on the timeline."""

    number: int
    day: dt.date  # the first day its printed date covers
    relevance: float  # score relative to the answer's best hit, 0-1
    date_text: str
    title: str


def points(answer: Answer) -> list[Point]:
    """Place the cited documents on the timeline.

    Args:
        answer: The answer.

    Returns:
        A point per cited document, numbered as in the answer, its relevance a share of the best hit's.
    """
    best = max((item.hit.score for item in answer.cited), default=0.0)
    return [Point(item.number, bounds(item.hit.doc.date)[0], item.hit.score / best if best > 0 else 0.0,
                  item.hit.doc.date_text, item.hit.doc.title) for item in answer.cited]


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def ticks(first: dt.date, last: dt.date, max_ticks: int = MAX_TICKS) -> list[tuple[dt.date, str]]:
    """Choose the x-axis ticks: every 1, 2, 3, 6, 12 ... months, so that at most `max_ticks` show.

    Args:
        first: The earliest point's day.
        last: The latest point's day.
        max_ticks: How many ticks at most.

    Returns:
        (month start, label) from just before `first` to just after `last`, labelled "Mar 1963" (or "1963" for
        yearly steps); each label is unique.
    """
    start, end = _month_index(first), _month_index(last) + 1  # the axis ends after the last point's month
    step = next((s for s in TICK_STEPS if -(-(end - start + start % s) // s) + 1 <= max_ticks), TICK_STEPS[-1])
    index, found = start - start % step, []
    while True:
        day = dt.date(index // 12, index % 12 + 1, 1)
        found.append((day, str(day.year) if step >= 12 else f"{_MONTHS[day.month - 1]} {day.year}"))
        if index >= end:
            return found
        index += step


def timeline_svg(answer: Answer, anchor: str = "", *, narrow: bool = False) -> str:
    """Draw the answer's timeline as an inline SVG.

    Args:
        answer: The answer.
        anchor: The prefix of the answer's entry ids: each point links to `#ANCHOR-n`; "" for no links.
        narrow: The phone layout (NARROW_WIDTH, fewer ticks).

    Returns:
        The SVG (all text HTML-escaped); an empty string when nothing was cited.
    """
    found = points(answer)
    if not found:
        return ""
    width = NARROW_WIDTH if narrow else WIDTH
    marks = ticks(min(p.day for p in found), max(p.day for p in found),
                  NARROW_MAX_TICKS if narrow else MAX_TICKS)
    lo, hi = marks[0][0].toordinal(), max(marks[-1][0].toordinal(), marks[0][0].toordinal() + 1)
    plot_w, plot_h = width - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: dt.date) -> float:
        return LEFT + (day.toordinal() - lo) / (hi - lo) * plot_w

    def y(relevance: float) -> float:
        return TOP + (1 - relevance) * plot_h

    parts = [f'<svg class="timeline {"narrow" if narrow else "wide"}" viewBox="0 0 {width} {HEIGHT}" role="img" '
             f'aria-label="Timeline of the {len(found)} cited documents" xmlns="http://www.w3.org/2000/svg">',
             f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{width - RIGHT}" y2="{TOP + plot_h}"/>',
             f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}"/>',
             f'<text class="label" x="{LEFT - 6}" y="{y(1) + 4:.1f}" text-anchor="end">1</text>',
             f'<text class="label" x="{LEFT - 6}" y="{y(0) + 4:.1f}" text-anchor="end">0</text>',
             f'<text class="label" x="12" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
             f'transform="rotate(-90 12 {TOP + plot_h / 2:.1f})">relevance</text>']
    for day, label in marks:
        tx = x(day)
        parts.append(f'<line class="tick" x1="{tx:.1f}" y1="{TOP + plot_h}" x2="{tx:.1f}" y2="{TOP + plot_h + 5}"/>'
                     f'<text class="tick-label" x="{tx:.1f}" y="{TOP + plot_h + 20}" text-anchor="middle">'
                     f'{label}</text>')
    for p in sorted(found, key=lambda p: -p.relevance):  # the best drawn last, on top
        px, py = x(p.day), y(p.relevance)
        tip = html.escape(f"[{p.number}] {p.date_text} — {p.title}")
        href = f' href="#{anchor}-{p.number}"' if anchor else ""
        parts.append(f'<a class="point"{href}><title>{tip}</title>'
                     f'<circle cx="{px:.1f}" cy="{py:.1f}" r="6"/>'
                     f'<text x="{px + 8:.1f}" y="{py - 8:.1f}">[{p.number}]</text></a>')
    parts.append("</svg>")
    return "".join(parts)


# The page shows one of the two layouts: the wide one, or under 640 px (a phone) the narrow one.
CSS = """
#timeline svg.timeline { width: 100%; height: auto; font: 12px system-ui, sans-serif; }
#timeline svg.narrow { display: none; }
@media (max-width: 640px) { #timeline svg.wide { display: none; } #timeline svg.narrow { display: block; } }
#timeline .axis, #timeline .tick { stroke: currentColor; opacity: 0.5; }
#timeline .label, #timeline .tick-label, #timeline .point text { fill: currentColor; }
#timeline .point circle { fill: #2563eb; fill-opacity: 0.8; stroke: white; }
#timeline .point:hover circle { fill: #dc2626; }
"""


def timeline_html(answer: Answer | None, anchor: str = "") -> str:
    """Build the page's timeline block.

    Args:
        answer: The answer, or None before the first one.
        anchor: The prefix of the answer's entry ids, as for `timeline_svg`.

    Returns:
        HTML: a heading and the SVG in both layouts (CSS shows the one that fits), or a note when nothing is cited.
    """
    svg = timeline_svg(answer, anchor) + timeline_svg(answer, anchor, narrow=True) if answer is not None else ""
    body = svg or "<p><em>No documents cited yet.</em></p>"
    return f'<div class="timeline-block"><strong>Timeline of the cited documents</strong>{body}</div>'
