"""Split archive summaries into sentences: for highlights, the chat's synthesis and (later) sentence vectors.

A sentence ends at . ! or ? (maybe inside a closing quote or bracket) followed by a space and a capital or an
opening quote or bracket, except after an initial ("V. P. Moskovskyi") or a short abbreviation ("c.", "No.").
"""

from __future__ import annotations

import re

#: Recorded with an index's sentence vectors: bump it when the splitting changes, so the next rebuild embeds
#: the summaries' sentences again (and until then the staleness check says so).
SPLITTER = "rag.documents.sentences v1"

# A candidate sentence end: . ! or ? (maybe inside a closing quote) then space and a capital or opening quote.
_BREAK = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)]))\s+(?=[A-Z\"“‘(])")
# ...unless the text before it ends in an initial ("V. P.") or a short abbreviation ("c.", "No.", "Dr.").
_NOT_AN_END = re.compile(r"(?:\b[A-Za-z]|\b(?:c|ca|No|Dr|Mr|Mrs|St|Gen|Col|vs|cf|e\.g|i\.e))\.$")


def sentences(text: str | None) -> list[str]:
    """Split a summary into sentences.

    Args:
        text: The text, or None.

    Returns:
        Its sentences in order, each on one line (whitespace runs become one space); empty for no text.
    """
    flat = " ".join((text or "").split())
    found: list[str] = []
    for piece in _BREAK.split(flat) if flat else ():
        if found and _NOT_AN_END.search(found[-1]):
            found[-1] = f"{found[-1]} {piece}"
        else:
            found.append(piece)
    return [part.strip() for part in found if part.strip()]
