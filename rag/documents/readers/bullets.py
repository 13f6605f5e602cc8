"""The older site's layout, as in the bundled page: each entry opens with a bullet and is indented::

    Sino-Soviet Split, 1960-1984
    Documents on the growing division ...
      • April 03, 1963
        Memorandum of Conversation between ...
        Soviet politburo member ...

Lines less indented than the bullets after the last entry are the page's footer (ignored, with a warning).
"""

from __future__ import annotations

from rag.documents.readers.listing import ListingReader

BULLETS = "•●◦▪"


def marker(line: str) -> str | None:
    """Recognise a bullet entry marker.

    Args:
        line: One line of the page, its whitespace collapsed.

    Returns:
        The text after the bullet ('' when none) for a line opening with a bullet, else None.
    """
    if line and line[0] in BULLETS:
        return line[1:].strip()
    return None


READER = ListingReader(name="bullets", expects="lines starting with '•'", marker=marker)
