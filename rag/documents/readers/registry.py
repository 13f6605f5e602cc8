"""The text page layouts, in the order they are tried, and the one function that reads a page in whichever of
them it is. A new layout is one module holding a `PageReader` (base.py), added to `READERS`. Saved HTML is
told by its file name (html.py, mhtml.py), not detected here."""

from __future__ import annotations

from rag.documents.readers import bullets, dashes, results
from rag.documents.readers.base import Page, PageReader, Problem
from rag.errors import CorpusError

#: The page layouts, in the order they are tried.
READERS: tuple[PageReader, ...] = (bullets.READER, dashes.READER, results.READER)


def parse_page(text: str, source: str) -> Page:
    """Parse one saved listing page, in whichever layout it is.

    Args:
        text: The page's whole text.
        source: The file's name, for documents' origins and errors.

    Returns:
        The page's collection and documents, in page order, with warnings about lines it skipped.

    Raises:
        CorpusError: When no layout fits the page, or two do; else listing every entry that cannot be read,
            each with file:line.
    """
    found = [reader for reader in READERS if reader.detects(text)]
    if not found:
        expected = ", or ".join(reader.expects for reader in READERS)
        raise CorpusError([Problem(source, None, "not a listing page of the archive: no entries found "
                                   f"(expected {expected}, each followed by a date)")])
    if len(found) > 1:
        names = " and ".join(reader.name for reader in found)
        raise CorpusError([Problem(source, None, f"mixes two layouts ({names}): keep one kind of entry "
                                   "marker per page")])
    return found[0].read(text, source)
