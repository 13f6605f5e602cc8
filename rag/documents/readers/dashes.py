"""The newer site's layout, with no bullets or indentation, each entry preceded by a line holding only `-`::

    Sino-Soviet Split, 1960-1984
    Documents on the growing division ...
    -
    April 03, 1963
    Memorandum of Conversation between ...
    Soviet politburo member ...

A list item holding the date (`- April 03, 1963`, also with `*`) starts an entry too.
"""

from __future__ import annotations

from rag.documents.dates import looks_like_date
from rag.documents.readers.listing import ListingReader

DASHES = ("-", "–", "—")
_ITEM_OPENERS = frozenset(f"{d} " for d in (*DASHES, "*"))


def marker(line: str) -> str | None:
    """Recognise a dash entry marker.

    Args:
        line: One line of the page, its whitespace collapsed.

    Returns:
        '' for a line holding only a dash, the date of a list item holding one (`- April 03, 1963`), else None.
    """
    if line in DASHES:
        return ""
    if line[:2] in _ITEM_OPENERS and looks_like_date(line[2:]):
        return line[2:].strip()
    return None


READER = ListingReader(name="dashes", expects="lines holding only '-'", marker=marker)
