"""Embeddings of a rebuild in progress, kept in chunks in a working folder beside the index
(`embeddings/index.work/`), so a rebuild stopped by Ctrl-C, SIGTERM, SIGKILL or a power cut resumes where it was.

Every CHUNK_DOCUMENTS documents, their vectors are saved as `<kind>-<n>.npy` with `<kind>-<n>.json` beside it,
listing what they cover: a hash of each document's texts, how many vectors each has, and the model key (model,
weights fingerprint, encoder backend, dimension, and for sentences the splitter). The JSON is written last and
atomically, so a chunk is either whole or ignored. The next run reuses every saved vector whose texts and model
still match (whatever the corpus became meanwhile) and embeds only the rest; the rebuild deletes the folder
once the new index is swapped in. Nothing here touches the published index, so a crash still leaves it usable.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rag.index.files import fsync_path, write_synced

if TYPE_CHECKING:
    import numpy as np

FORMAT = 1
#: Documents per chunk. At ~150 docs/s (ONNX, 2 cores, 5,000 synthetic documents) a chunk is ~15 s of work:
#: what a kill can lose, while 1M documents make 500 chunks per kind (a few ms each to save).
CHUNK_DOCUMENTS = 2000
#: The encoders' batch for a chunk's texts: one encoder call per chunk, which sorts them by length into
#: batches (`rag.index.encoders.batches`) and moves the progress bar per batch.
BATCH = 64
#: The test-only hooks' environment variables (`RebuildHooks`): documents per chunk, seconds to sleep after each
#: saved chunk, seconds to sleep before the new version is swapped in. Unset in normal use.
CHUNK_ENV = "RAG_REBUILD_CHUNK"
PAUSE_AFTER_CHUNK_ENV = "RAG_REBUILD_PAUSE_AFTER_CHUNK"
PAUSE_BEFORE_SWAP_ENV = "RAG_REBUILD_PAUSE_BEFORE_SWAP"


@dataclass(frozen=True)
class RebuildHooks:
    """Test-only hooks of a rebuild, so a test can kill it at a chosen point deterministically: smaller chunks,
    a pause (announced on stderr) after each saved chunk, and one once the new version is fully written but not
    yet swapped in. The defaults are normal use. Read from the environment once, where a rebuild starts."""

    chunk_documents: int = CHUNK_DOCUMENTS
    pause_after_chunk: float = 0.0
    pause_before_swap: float = 0.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RebuildHooks:
        """The hooks `RAG_REBUILD_CHUNK`, `RAG_REBUILD_PAUSE_AFTER_CHUNK` and `RAG_REBUILD_PAUSE_BEFORE_SWAP` set.

        Args:
            environ: The environment to read (default: `os.environ`); empty values count as unset.

        Returns:
            The hooks, the defaults for those unset.
        """
        environ = os.environ if environ is None else environ
        return cls(chunk_documents=max(1, int(environ.get(CHUNK_ENV) or CHUNK_DOCUMENTS)),
                   pause_after_chunk=float(environ.get(PAUSE_AFTER_CHUNK_ENV) or 0),
                   pause_before_swap=float(environ.get(PAUSE_BEFORE_SWAP_ENV) or 0))


def work_folder(index_path: Path) -> Path:
    """The working folder of a rebuild: a sibling of the index, never a version.

    Args:
        index_path: The index folder.

    Returns:
        `<index>.work` beside it.
    """
    index_path = Path(index_path)
    return index_path.parent / f"{index_path.name}.work"


def texts_key(texts: Sequence[str]) -> str:
    """What identifies a document's texts in a chunk: equal texts (and model) give equal vectors.

    Args:
        texts: One item's texts.

    Returns:
        A short hex digest.
    """
    return hashlib.sha256("\x1f".join(texts).encode("utf-8")).hexdigest()[:24]


class WorkFolder:
    """The chunks of one rebuild's embeddings for one model `key` (plain JSON values)."""

    def __init__(self, folder: Path, key: dict):
        """Args:
            folder: The working folder (`work_folder`).
            key: What the vectors depend on besides the texts (model, fingerprint, backend, dimension).
        """
        self.folder = Path(folder)
        self.key = {"format": FORMAT, **key}

    def saved(self, kind: str) -> dict[str, np.ndarray]:
        """Vectors already computed for this model. Chunks of another model or format, and pieces of a chunk
        killed while being written, are deleted.

        Args:
            kind: "documents" or "sentences".

        Returns:
            Each item's vectors (memory-mapped), by `texts_key`.
        """
        import numpy as np

        found: dict[str, np.ndarray] = {}
        if not self.folder.is_dir():
            return found
        for meta in sorted(self.folder.glob(f"{kind}-*.json")):
            data = meta.with_suffix(".npy")
            try:
                record = json.loads(meta.read_text(encoding="utf-8"))
                if record.get("key") != {**self.key, "kind": kind}:
                    raise ValueError("another model")
                vectors = np.load(data, allow_pickle=False, mmap_mode="r")  # copied once, into the new index
                counts, keys = record["counts"], record["texts"]
                if len(counts) != len(keys) or vectors.shape != (sum(counts), self.key["dimension"]):
                    raise ValueError("wrong shape")
            except (OSError, ValueError, TypeError, KeyError):
                meta.unlink(missing_ok=True)
                data.unlink(missing_ok=True)
                continue
            start = 0
            for key, count in zip(keys, counts, strict=True):
                found[key] = vectors[start:start + count]
                start += count
        listed = {p.with_suffix(".npy") for p in self.folder.glob(f"{kind}-*.json")}
        for orphan in self.folder.glob(f"{kind}-*.npy*"):  # a chunk whose JSON never got written
            if orphan not in listed:
                orphan.unlink(missing_ok=True)
        for partial in self.folder.glob(f"{kind}-*.json.partial"):  # stopped before its JSON's rename
            partial.unlink(missing_ok=True)
        return found

    def save(self, kind: str, keys: list[str], counts: list[int], vectors: np.ndarray) -> Path:
        """Save one chunk: vectors first, fsynced, then its JSON atomically.

        Args:
            kind: "documents" or "sentences".
            keys: Each item's `texts_key`.
            counts: How many vectors each item has.
            vectors: Every item's vectors, in order.

        Returns:
            The JSON's path.
        """
        import numpy as np

        self.folder.mkdir(parents=True, exist_ok=True)
        number = 1 + max((int(p.stem.rsplit("-", 1)[1]) for p in self.folder.glob(f"{kind}-*.json")), default=0)
        stem = self.folder / f"{kind}-{number:06d}"
        write_synced(Path(f"{stem}.npy.partial"),
                     lambda fh: np.save(fh, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False))
        os.replace(f"{stem}.npy.partial", f"{stem}.npy")
        meta = Path(f"{stem}.json")
        temp = meta.with_suffix(".json.partial")
        temp.write_text(json.dumps({"key": {**self.key, "kind": kind}, "texts": keys, "counts": counts}),
                        encoding="utf-8")
        os.replace(temp, meta)
        fsync_path(self.folder)
        return meta

    def remove(self) -> None:
        """Delete the folder and every chunk in it (the new version is in place, or they cannot serve)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def embed(work: WorkFolder, kind: str, texts: Sequence[Sequence[str]], encoder, *, label: str, unit: str,
          progress: bool, say: Callable[[str], None], hooks: RebuildHooks | None = None
          ) -> tuple[list[np.ndarray], int, int]:
    """The vectors of each item's texts, reusing what `work` holds and saving the rest chunk by chunk.

    Args:
        work: The working folder and model key.
        kind: "documents" or "sentences".
        texts: Each item's texts.
        encoder: What embeds them (`encode(texts, batch_size=...)`).
        label: The progress bar's title.
        unit: What the bar counts.
        progress: Show one bar over every text (total, ETA, rate), starting at the reused count.
        say: Where the resuming and stopping lines go.
        hooks: The test-only hooks (default: none).

    Returns:
        An (len(texts[i]), dimension) array per item, with how many items and texts were reused.
    """
    import numpy as np

    hooks = hooks or RebuildHooks()

    dimension = work.key["dimension"]
    saved = work.saved(kind)
    keys = [texts_key(t) for t in texts]
    result: list[np.ndarray | None] = [None] * len(texts)
    todo, reused_items, reused_texts = [], 0, 0
    for i, (key, parts) in enumerate(zip(keys, texts, strict=True)):
        if not parts:
            result[i] = np.zeros((0, dimension), dtype=np.float32)
        elif key in saved and len(saved[key]) == len(parts):
            result[i] = saved[key]
            reused_items, reused_texts = reused_items + 1, reused_texts + len(parts)
        else:
            todo.append(i)
    total = sum(len(t) for t in texts)
    with_texts = sum(1 for t in texts if t)
    noun = "documents" if kind == "documents" else "documents' sentences"
    if reused_items:
        say(f"resuming: {reused_items:,} of {with_texts:,} {noun} already embedded ({work.folder})")
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=reused_texts, unit=f" {unit}", desc=label, file=sys.stderr,
                   dynamic_ncols=True)
    size, pause = hooks.chunk_documents, hooks.pause_after_chunk
    done = reused_items
    try:
        for start in range(0, len(todo), size):
            rows = todo[start:start + size]
            vectors = encoder.encode([s for i in rows for s in texts[i]], batch_size=BATCH,
                                     progress=False if bar is None else bar.update)
            meta = work.save(kind, [keys[i] for i in rows], [len(texts[i]) for i in rows], vectors)
            offset = 0
            for i in rows:
                result[i], offset = vectors[offset:offset + len(texts[i])], offset + len(texts[i])
            done += len(rows)
            if pause > 0:
                print(f"saved {meta.name} ({done} of {with_texts}); pausing {pause} s ({PAUSE_AFTER_CHUNK_ENV})",
                      file=sys.stderr, flush=True)
                time.sleep(pause)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
            bar = None
        say(f"stopped: {done:,} of {with_texts:,} {noun} embedded are kept in {work.folder}; run the rebuild "
            "again to resume")
        raise
    finally:
        if bar is not None:
            bar.close()
    return result, reused_items, reused_texts

