"""The page's "Add pages", free of Gradio: saved pages a reader uploads are checked, copied into the corpus and
indexed (`rag.index.updating.add_and_rebuild`), and the outcome said in Markdown. One upload at a time: a second
waits for the first (the rebuild's lock would refuse it otherwise). Nothing in a file is ever run: it is parsed.
"""

from __future__ import annotations

import ipaddress
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rag.chat.render import escape
from rag.chat.session import Collection
from rag.documents.adding import MAX_FILE_BYTES
from rag.errors import CorpusError, RagError
from rag.index.updating import add_and_rebuild

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rag.settings import Settings

#: The types the upload offers (and `rag.documents.adding.add_pages` checks again, by name and by content).
UPLOAD_TYPES = (".txt", ".html", ".htm", ".mhtml", ".jsonl")
_ONE_AT_A_TIME = threading.Lock()


def uploads_offered(settings: Settings) -> bool:
    """Whether the page offers "Add pages": `settings.uploads` "on", or "local" while listening on a loopback
    address (anyone who can open the page could otherwise write into the corpus).

    Args:
        settings: `uploads` and `host`.
    """
    if settings.uploads != "local":
        return settings.uploads == "on"
    try:
        return settings.host == "localhost" or ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Upload:
    """What an upload did, for the page: the Markdown report, and the corpus as it now is (None: unchanged)."""

    report: str
    collection: Collection | None = None


def add_uploaded(files: Iterable[str | Path] | None, settings: Settings) -> Upload:
    """Add uploaded pages to `settings.corpus_dir` and rebuild the index; the server then serves the new version
    (`rag.search.refreshing`).

    Args:
        files: The uploaded files' paths (each keeps the name it was saved under).
        settings: The corpus folder and the index.

    Returns:
        The report; every refusal is said in it, nothing is raised.
    """
    paths = [Path(f) for f in files or ()]
    if not paths:
        return Upload(f"Choose one or more saved pages first ({', '.join(UPLOAD_TYPES)}; at most "
                      f"{MAX_FILE_BYTES // 2**20} MB each).")
    with _ONE_AT_A_TIME:
        try:
            added = add_and_rebuild(paths, settings)
        except CorpusError as exc:
            problems = "\n".join(f"- {escape(_named(str(problem), paths))}" for problem in exc.problems)
            return Upload(f"**Nothing was added**: {len(exc.problems)} problem(s) in the files.\n\n{problems}")
        except RagError as exc:
            return Upload(f"**The pages were copied but the index could not be rebuilt**: "
                          f"{escape(_named(exc.line(), paths))}. "
                          "Searches still use the previous index; `coldwar-rag rebuild` will take the new pages.",
                          Collection.from_corpus(settings.corpus_dir))
    lines = "\n".join(f"- {escape(_named(line.strip(), paths))}" for line in added.lines())
    if added.rebuilt is None:
        return Upload(f"**Nothing new to add.**\n\n{lines}")
    return Upload(f"**Added.** Searches now include these pages.\n\n{lines}",
                  Collection.from_corpus(settings.corpus_dir))


def _named(text: str, paths: list[Path]) -> str:
    """`text` with each uploaded file's temporary path shown as the name it was saved under."""
    for path in paths:
        text = text.replace(str(path), path.name)
    return text
