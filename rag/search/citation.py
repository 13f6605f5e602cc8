"""Footnote-ready references for archive records, in the Chicago style the Wilson Center itself suggests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.documents.document import ARCHIVE_NAME

if TYPE_CHECKING:
    from rag.documents.document import Document

# Double quotes inside a title become single quotes, as for a quotation within a quotation.
_INNER_QUOTES = str.maketrans({'"': "'", "“": "‘", "”": "’"})


def cite(doc: Document) -> str:
    """`"Title," April 03, 1963, Collection, Wilson Center Digital Archive.` plus ` URL` when known.

    The comma goes inside the closing quote unless the title ends in its own ? or !; the date is as the
    archive printed it.

    Args:
        doc: The document cited.

    Returns:
        The citation.
    """
    title = " ".join(doc.title.translate(_INNER_QUOTES).split()).rstrip(".,;: ")
    quoted = f'"{title}"' if title.endswith(("?", "!")) else f'"{title},"'
    reference = f"{quoted} {doc.date_text}, {doc.collection}, {ARCHIVE_NAME}."
    return f"{reference} {doc.url}" if doc.url else reference
