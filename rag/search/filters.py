"""Which rows a search may return (the date filter) and which it puts first (collections the question names)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from rag.documents.dates import bounds
from rag.documents.document import UNKNOWN_COLLECTION, shown_collection
from rag.errors import QueryError
from rag.index.schema import collection_codes

if TYPE_CHECKING:
    import numpy as np


class DateFilter:
    """Each row's date as the span of days it may mean (`1964-03` is March 1-31), as ordinals.

    A range allows a row when their spans overlap: a month-only date matches any range touching that month.
    """

    def __init__(self, dates: Sequence[str]):
        """Args:
            dates: each row's ISO (partial) date.
        """
        import numpy as np

        spans = [bounds(date) for date in dates]
        self._starts = np.array([start.toordinal() for start, _ in spans], dtype=np.int64)
        self._ends = np.array([end.toordinal() for _, end in spans], dtype=np.int64)

    @classmethod
    def from_spans(cls, spans: np.ndarray) -> DateFilter:
        """From the spans as the index folder stores them (`Index.date_spans`).

        Args:
            spans: (rows, 2) first and last day ordinals.
        """
        made = cls.__new__(cls)
        made._starts, made._ends = spans[:, 0], spans[:, 1]
        return made

    def allowed(self, date_from: str | None, date_to: str | None) -> np.ndarray | None:
        """A mask of the rows overlapping the range (inclusive); None when it is open.

        Args:
            date_from: ISO partial date, or None.
            date_to: ISO partial date, or None.
        """
        if date_from is None and date_to is None:
            return None
        import numpy as np

        mask = np.ones(len(self._starts), dtype=bool)
        if date_from:
            mask &= self._ends >= bounds(date_from)[0].toordinal()
        if date_to:
            mask &= self._starts <= bounds(date_to)[1].toordinal()
        return mask


class CollectionFilter:
    """Each row's collection, to limit a search to one or more collections (named in full, or without their
    date span, any case)."""

    def __init__(self, collections: Sequence[str]):
        """Args:
            collections: each row's collection name.
        """
        names, self._codes = collection_codes(collections)
        self.names = tuple(names)

    @classmethod
    def from_codes(cls, names: Sequence[str], codes: np.ndarray) -> CollectionFilter:
        """From the collection names and each row's position among them (`Index.collections`), without
        reading the documents.

        Args:
            names: the collection names, in code order.
            codes: each row's code.
        """
        made = cls.__new__(cls)
        made.names, made._codes = tuple(names), codes
        return made

    def resolve(self, wanted: Sequence[str]) -> list[str]:
        """The collections' full names.

        Args:
            wanted: names in full or without their date span, any case; "unknown" (or "unknown collection")
                for the documents whose collection no file names (collection '').

        Raises:
            QueryError: a name not in the index (naming the valid ones).
        """
        found = []
        for name in wanted:
            key = " ".join(str(name).split()).casefold()
            match = next((n for n in self.names if key in (n.casefold(), short_name(n)) or (
                not n and key in (UNKNOWN_COLLECTION, shown_collection(n)))), None)
            if match is None:
                raise QueryError(f"unknown collection {name!r}; the collections are: "
                                 f"{'; '.join(map(shown_collection, self.names))}")
            found.append(match)
        return list(dict.fromkeys(found))

    def allowed(self, wanted: Sequence[str] | None) -> np.ndarray | None:
        """A mask of the rows in the wanted collections; None when no collection is named (all allowed).

        Args:
            wanted: names as `resolve` takes them.
        """
        if not wanted:
            return None
        import numpy as np

        codes = [self.names.index(name) for name in self.resolve(wanted)]
        return np.isin(self._codes, codes)


def checked_collections(collections: str | Sequence[str] | None) -> list[str]:
    """The `collections` search parameter as a list of names.

    Args:
        collections: one name, a list, or None/blank for all.

    Raises:
        QueryError: something else than names.
    """
    if collections is None:
        return []
    if isinstance(collections, str):
        collections = [collections]
    if not isinstance(collections, Iterable):  # a number or a bool: not names (iterating it would raise TypeError)
        raise QueryError(f"collections must be collection names (text), got {collections!r}")
    if not all(isinstance(name, str) for name in collections):
        raise QueryError(f"collections must be collection names (text), got {collections!r}")
    return [name for name in collections if name.strip()]


class CollectionPreference:
    """Rows of the collections a question names ("... in the Cuban Missile Crisis collection") come first.

    A collection is named by its name without its date span; with a single collection nothing is preferred.
    """

    def __init__(self, collections: Sequence[str]):
        """Args:
            collections: each row's collection name.
        """
        self._rows = self._rows_by_name(*collection_codes(collections))

    @classmethod
    def from_codes(cls, names: Sequence[str], codes: np.ndarray) -> CollectionPreference:
        """From the collection names and each row's position among them (`Index.collections`).

        Args:
            names: the collection names, in code order.
            codes: each row's code.
        """
        made = cls.__new__(cls)
        made._rows = cls._rows_by_name(names, codes)
        return made

    @staticmethod
    def _rows_by_name(names: Sequence[str], codes: np.ndarray) -> dict[str, list[int]]:
        """Each collection's rows; none with a single collection (nothing to prefer)."""
        import numpy as np

        return {name: np.flatnonzero(codes == n).tolist() for n, name in enumerate(names)} if len(names) > 1 else {}

    def named(self, query: str) -> tuple[list[str], list[int]]:
        """The collections the query names and their rows (empty lists when it names none).

        Args:
            query: the words searched.
        """
        text = query.casefold()
        names = [name for name in self._rows if short_name(name) in text]
        return names, sorted(row for name in names for row in self._rows[name])


def short_name(collection: str) -> str:
    """A collection's name without its date span: "Sino-Soviet Split, 1960-1984" → "sino-soviet split".

    Args:
        collection: its full name.
    """
    return re.sub(r",?\s*\d{4}\s*[-–]\s*\d{4}\s*$", "", collection).strip().casefold()
