"""Which rows a search may return (the date filter) and which it puts first (collections the question names)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rag.documents.dates import bounds

if TYPE_CHECKING:
    import numpy as np


class DateFilter:
    """Each row's date as the span of days it may mean (`1964-03` is March 1-31), as ordinals.

    A range allows a row when their spans overlap: a month-only date matches any range touching that month.
    """

    def __init__(self, dates: Sequence[str]):
        import numpy as np

        spans = [bounds(date) for date in dates]
        self._starts = np.array([start.toordinal() for start, _ in spans], dtype=np.int64)
        self._ends = np.array([end.toordinal() for _, end in spans], dtype=np.int64)

    @classmethod
    def from_spans(cls, spans: np.ndarray) -> DateFilter:
        """From (n, 2) first and last day ordinals, as the index folder stores them (`Index.date_spans`)."""
        made = cls.__new__(cls)
        made._starts, made._ends = spans[:, 0], spans[:, 1]
        return made

    def allowed(self, date_from: str | None, date_to: str | None) -> np.ndarray | None:
        """A mask of the rows overlapping the range (ISO partial dates, inclusive); None when it is open."""
        if date_from is None and date_to is None:
            return None
        import numpy as np

        mask = np.ones(len(self._starts), dtype=bool)
        if date_from:
            mask &= self._ends >= bounds(date_from)[0].toordinal()
        if date_to:
            mask &= self._starts <= bounds(date_to)[1].toordinal()
        return mask


class CollectionPreference:
    """Rows of the collections a question names ("... in the Cuban Missile Crisis collection") come first.

    A collection is named by its name without its date span; with a single collection nothing is preferred.
    """

    def __init__(self, collections: Sequence[str]):
        names = dict.fromkeys(collections)
        self._rows = {name: [row for row, c in enumerate(collections) if c == name] for name in names} \
            if len(names) > 1 else {}

    @classmethod
    def from_codes(cls, names: Sequence[str], codes: np.ndarray) -> CollectionPreference:
        """From the collection names and each row's position among them (`Index.collections`)."""
        import numpy as np

        made = cls.__new__(cls)
        made._rows = {name: np.flatnonzero(codes == n).tolist() for n, name in enumerate(names)} \
            if len(names) > 1 else {}
        return made

    def named(self, query: str) -> tuple[list[str], list[int]]:
        """The collections the query names and their rows (empty lists when it names none)."""
        text = query.casefold()
        names = [name for name in self._rows if short_name(name) in text]
        return names, sorted(row for name in names for row in self._rows[name])


def short_name(collection: str) -> str:
    """A collection's name without its date span: "Sino-Soviet Split, 1960-1984" → "sino-soviet split"."""
    return re.sub(r",?\s*\d{4}\s*[-–]\s*\d{4}\s*$", "", collection).strip().casefold()
