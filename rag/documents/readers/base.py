"""What reading one file yields (`Page`, with `Problem`s at file:line), and the interface every page layout
implements (`PageReader`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rag.documents.document import Document


@dataclass(frozen=True)
class Problem:
    """Something wrong at a place in a file: `file:line: message`, or `file: message` for the whole file."""

    source: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}"


@dataclass
class Page:
    """What one file yielded: its collection's name (None for records, which name their own; '' for a page that
    names none, such as search results), its documents in file order, warnings about lines it skipped, and what
    `corpus stats` reports of it: the layout that read it, the collection's description when the page gives one,
    and a result page's place in its listing ("41 - 50 of 62"), which is page metadata, never an entry."""

    source: str
    collection: str | None
    documents: list[Document]
    warnings: list[Problem] = field(default_factory=list)
    layout: str = ""
    description: str | None = None
    position: str | None = None


class PageReader(Protocol):
    """One layout of the archive's saved pages. A new layout is one module holding a reader, listed in
    `rag.documents.readers.READERS`."""

    #: The layout's name, as errors name it ("bullets").
    name: str
    #: How its entries look, for the error when no layout fits a page ("lines starting with '•'").
    expects: str

    def detects(self, text: str) -> bool:
        """Whether a page is in this layout.

        Args:
            text: The page's whole text.

        Returns:
            True when the page holds at least one entry of this layout.
        """
        ...

    def read(self, text: str, source: str) -> Page:
        """Read a page this reader detects.

        Args:
            text: The page's whole text.
            source: The file's name, for documents' origins and errors.

        Returns:
            The page's documents, in page order.

        Raises:
            CorpusError: Listing every entry that cannot be read, each with file:line.
        """
        ...
