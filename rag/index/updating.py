"""Bring the configured index up to date with its corpus, whichever backend holds it (the index folder, or the
PostgreSQL database `Settings.backend` names), and add saved pages then rebuild: what `coldwar-rag corpus add`
and the page's "Add pages" both do.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.documents.adding import add_pages

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from rag.documents.adding import AddReport
    from rag.settings import Settings


@dataclass(frozen=True)
class Rebuilt:
    """A rebuild's one-line summary, and its notice (e.g. that questions will be encoded by the slower
    sentence-transformers), when it has one."""

    line: str
    notice: str | None = None


def rebuild_index(settings: Settings, *, progress: bool = True) -> Rebuilt:
    """Rebuild the index `settings` configure, incrementally: the folder at `settings.index_dir`, or the
    database at `settings.backend` when it is set.

    Args:
        settings: The corpus, the index (folder or database), the model.
        progress: Progress bars and status lines on stderr.

    Returns:
        What the rebuild reports.

    Raises:
        RebuildError, CorpusError, ModelError: The rebuild cannot be made (the previous index still serves).
    """
    if settings.backend:
        from rag.index.postgres.opening import index_name
        from rag.index.postgres.rebuild import rebuild_into

        report = rebuild_into(settings.backend, settings.corpus_dir, settings, progress=progress)
        return Rebuilt(report.line(index_name(settings.backend)), report.notice)
    from rag.index.build import rebuild

    report = rebuild(settings, progress=progress)
    return Rebuilt(report.line(settings.index_dir), report.notice)


@dataclass(frozen=True)
class Added:
    """What adding pages did: the copy's report, and the rebuild's (None when nothing was copied)."""

    report: AddReport
    rebuilt: Rebuilt | None

    def lines(self) -> list[str]:
        """The copy's report, then the rebuild's summary or why there was none.

        Returns:
            Lines for a terminal or a page.
        """
        ending = (["index not rebuilt: nothing was copied"] if self.rebuilt is None
                  else [*([f"note: {self.rebuilt.notice}"] if self.rebuilt.notice else []), self.rebuilt.line])
        return [*self.report.lines(), *ending]


def add_and_rebuild(paths: Iterable[Path], settings: Settings, *, progress: bool = False) -> Added:
    """Check, parse and copy saved pages into `settings.corpus_dir` (`rag.documents.adding.add_pages`), then
    rebuild the index when anything was copied.

    Args:
        paths: The saved pages.
        settings: The corpus folder and the index.
        progress: The rebuild's progress on stderr.

    Returns:
        What was copied and rebuilt.

    Raises:
        CorpusError: A file was refused (nothing copied); RebuildError and the like when the rebuild failed
            (the files are copied: the next rebuild takes them).
    """
    report = add_pages(paths, settings.corpus_dir)
    if not report.copied:
        return Added(report, None)
    if progress:
        for line in report.lines():
            print(line, file=sys.stderr, flush=True)
    return Added(report, rebuild_index(settings, progress=progress))
