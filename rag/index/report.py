"""What a rebuild did, and the one-line summary the rebuild script prints and the retriever logs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rag.index.segments import DELTA_MAX_SHARE

if TYPE_CHECKING:
    from pathlib import Path


@dataclass
class Written:
    """Rows a rebuild into a database wrote: documents inserted or updated, deleted, left as they were."""

    written: int = 0
    deleted: int = 0
    unchanged: int = 0


@dataclass
class Report:
    """What a rebuild did, for the one-line summary (`line`)."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    total: int = 0
    seconds: float = 0.0
    full_reason: str | None = None  # why everything was re-embedded, when it was
    retyped: str | None = None  # "Flat -> HNSW32" when only the FAISS index type changed
    refreshed: list[str] = field(default_factory=list)  # why sentence vectors or BM25 were (re)made
    sentences: int = 0  # summary sentences embedded
    up_to_date: bool = False
    encoder: str | None = None  # the Backend value that embedded, None when nothing was embedded
    embedded: int = 0  # documents embedded by this run (not those resumed)
    embed_seconds: float = 0.0  # encoding alone: not imports, model load or export
    notice: str | None = None  # one line: why ONNX was not used
    resumed: int = 0  # documents whose vectors an interrupted rebuild had saved (`rag.index.chunks`)
    resumed_sentences: int = 0
    linked: list[str] = field(default_factory=list)  # files hard-linked from the previous version, unchanged
    delta: tuple[int, int, int] | None = None  # written as a delta segment: (its documents, retired, base rows)
    rows: Written | None = None  # a rebuild into a database: the document rows it wrote, deleted, left

    def line(self, out: Path) -> str:
        """The one-line summary the rebuild script prints.

        Args:
            out: The index folder, named when nothing was to do.

        Returns:
            What changed, how long it took, what embedded and what was resumed or kept.
        """
        if self.up_to_date:
            return f"index at {out} is up to date ({self.total} documents); nothing to do"
        prefix = f"full rebuild ({self.full_reason}): " if self.full_reason else ""
        if self.retyped and not self.full_reason:
            prefix = f"FAISS index type {self.retyped}: "
        if self.refreshed and not self.full_reason:
            prefix += "; ".join(self.refreshed) + ": "
        if self.embedded:
            rate = self.embedded / self.embed_seconds if self.embed_seconds > 0 else float("inf")
            detail = f"embedding {self.embed_seconds:.1f} s, {rate:.0f} docs/s, {self.encoder}"
        else:
            detail = "no document embedded"
        sentences = f"; {self.sentences} summary sentences embedded" if self.sentences else ""
        if self.resumed or self.resumed_sentences:
            sentences += (f"; resumed {self.resumed} documents and {self.resumed_sentences} sentences "
                          "embedded by an interrupted rebuild")
        if self.delta:
            ahead, dead, base = self.delta
            sentences += (f"; kept the {base:,}-row base, with {ahead:,} document{'s' * (ahead != 1)} in its "
                          f"delta segment retiring {dead:,} base row{'s' * (dead != 1)} (merged into a new base past "
                          f"{DELTA_MAX_SHARE:.0%} of it, or with --full)")
        if self.rows is not None:
            sentences += (f"; document rows written {self.rows.written}, deleted {self.rows.deleted}, "
                          f"unchanged {self.rows.unchanged}")
        return (f"{prefix}added {self.added}, changed {self.changed}, removed {self.removed}, "
                f"total {self.total} in {self.seconds:.1f} s ({detail}){sentences}")
