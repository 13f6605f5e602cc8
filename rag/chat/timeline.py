"""The timeline of an answer: one point per cited document, date on the x-axis, relevance on the y-axis."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from rag.chat.render import number_by_date
from rag.documents.dates import bounds

if TYPE_CHECKING:
    import pandas as pd

    from rag.search.results import Results

COLUMNS = ("date", "relevance", "citation", "date_text", "title")
PAD_SHARE = 0.05  # x-axis padding on each side, as a share of the dates' span ...
MIN_PAD = dt.timedelta(days=15)  # ... and at least this, so a single date still has room


def timeline_frame(results: Results) -> pd.DataFrame:
    """A row per cited document: `date` (first day its printed date covers), `relevance` (score relative
    to the best hit, 0-1), `citation` ("[n]", numbered in date order), `date_text` and `title` for tooltips."""
    import pandas as pd

    best = max((hit.score for hit in results), default=0.0)
    rows = [
        {
            "date": pd.Timestamp(bounds(item.hit.doc.date)[0]),
            "relevance": round(item.hit.score / best, 3) if best > 0 else 0.0,
            "citation": item.label,
            "date_text": item.hit.doc.date_text,
            "title": item.hit.doc.title,
        }
        for item in number_by_date(results)
    ]
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def x_limits(frame: pd.DataFrame) -> list[float] | None:
    """The x-axis range in epoch seconds (what Gradio's plots expect for dates), padded so that points on
    the first and last dates are not cut in half by the plot's edge; None when there are no rows."""
    if frame.empty:
        return None
    first, last = frame["date"].min(), frame["date"].max()
    pad = max((last - first) * PAD_SHARE, MIN_PAD)
    return [(first - pad).timestamp(), (last + pad).timestamp()]
