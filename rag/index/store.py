"""The built index on disk: FAISS vectors plus plain-JSON document metadata and a manifest.

Folder layout (nothing in it is ever unpickled)::

    manifest.json     model, weights fingerprint, dimension, metric, FAISS index type, corpus fingerprint,
                      each document's content hash, library versions, time built
    documents.jsonl   one document per line, in vector row order
    vectors.npy       float32 (n, dimension), unit rows; kept so incremental rebuilds reuse embeddings
    index.faiss       the FAISS index over those rows (row number = FAISS id)

Crash safety: the index path (e.g. `embeddings/index`) is a symlink to a complete version folder beside
it (`index.v3`). A save writes and fsyncs a temporary sibling (`index.tmp-<pid>`), renames it to the next
version and replaces the symlink in one `os.replace`, so at every instant the path names a whole index.
Leftovers of killed writers are removed by `clean_leftovers` under `writer_lock`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rag.documents.document import Document
from rag.errors import IndexUnavailable

if TYPE_CHECKING:
    import faiss
    import numpy as np

    from rag.documents.corpus import Corpus

MANIFEST = "manifest.json"
DOCUMENTS = "documents.jsonl"
VECTORS = "vectors.npy"
FAISS_INDEX = "index.faiss"
DEFAULT_INDEX_TYPE = "Flat"  # exact inner product; a FAISS factory string such as "HNSW32" for large corpora
METRIC = "inner_product"  # on unit vectors, i.e. cosine similarity
FORMAT = 1  # manifest layout version
_SHOWN = 5  # documents named per kind of change in staleness reasons



class _Swapped(Exception):
    """The index path was pointed at a new version while it was being read."""


@dataclass
class Index:
    """Documents and their unit vectors, searchable by inner product (= cosine)."""

    documents: list[Document]
    vectors: np.ndarray
    manifest: dict = field(default_factory=dict)
    path: Path | None = None
    faiss_index: faiss.Index | None = None

    def __post_init__(self) -> None:
        if len(self.documents) != len(self.vectors):
            raise IndexUnavailable(f"index holds {len(self.documents)} documents but {len(self.vectors)} vectors")
        if self.faiss_index is None:
            self.faiss_index = build_faiss(self.vectors, self.manifest.get("index_type", DEFAULT_INDEX_TYPE))

    def __len__(self) -> int:
        return len(self.documents)

    @property
    def dimension(self) -> int:
        return int(self.vectors.shape[1])

    def similar(self, vector: np.ndarray, k: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The k rows nearest to a unit vector as (row, cosine), best first; `rows` restricts the
        search to those rows *before* taking the top k, so filters never starve the result."""
        import faiss
        import numpy as np

        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        if rows is not None:
            if len(rows) == 0:
                return []
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(rows, dtype=np.int64)))
            scores, ids = self.faiss_index.search(query, min(k, len(rows)), params=params)
        else:
            scores, ids = self.faiss_index.search(query, min(k, len(self)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def staleness(self, corpus: Corpus | Sequence[Document], model: str) -> list[str]:
        """Why this index no longer matches the corpus (a `Corpus` or its documents) and the model, in
        words for a user; empty when it is fresh."""
        documents = corpus if isinstance(corpus, Sequence) else corpus.documents
        return staleness(self.manifest, documents, model, titles={d.id: _label(d) for d in self.documents})

    @classmethod
    def load(cls, path: Path) -> Index:
        """Read an index folder written by `python -m embeddings.rebuild`, checking that its parts agree."""
        path = Path(path)
        if not (path / MANIFEST).is_file():
            raise IndexUnavailable(f"no index at {path}: build it with `python -m embeddings.rebuild --out {path}`")
        try:
            return cls._read(path.resolve(), path)
        except _Swapped:  # a writer replaced the version while we read it: read the new one
            return cls._read(path.resolve(), path)

    @classmethod
    def _read(cls, folder: Path, path: Path) -> Index:
        import faiss
        import numpy as np

        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            with (folder / DOCUMENTS).open(encoding="utf-8") as fh:
                documents = [Document.from_record(json.loads(line)) for line in fh if line.strip()]
            vectors = np.load(folder / VECTORS, allow_pickle=False)
            faiss_index = faiss.read_index(str(folder / FAISS_INDEX))
            problem = _inconsistency(manifest, documents, vectors, faiss_index)
        except FileNotFoundError as exc:
            if path.resolve() != folder:
                raise _Swapped from None
            problem = f"missing {Path(exc.filename or '?').name}"
        except (OSError, ValueError, TypeError, KeyError, AttributeError, RuntimeError) as exc:
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if problem:
            raise IndexUnavailable(f"index at {path} is unreadable ({problem}); rebuild it with "
                                   f"`python -m embeddings.rebuild --full --out {path}`")
        return cls(documents, vectors, manifest, path, faiss_index)

    def save(self, path: Path, *, before_swap: Callable[[], None] | None = None) -> Path:
        """Write atomically to `path` (see the module docstring) and return the version folder written.
        The manifest's structural fields (count, dimension, document hashes, ...) are filled in here so
        they always describe the files. Concurrent writers must hold `writer_lock(path)`.
        `before_swap` runs when the new version is complete but not yet visible (tests kill there)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir() and not path.is_symlink():
            _adopt_plain_folder(path)
        self.manifest.update(self._structure())
        tmp = path.parent / f"{path.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        self._write_files(tmp)
        if before_swap is not None:
            before_swap()
        old = _current_version(path)
        version = path.parent / f"{path.name}.v{_next_version(path)}"
        os.rename(tmp, version)
        _swap_link(path, version)
        if old is not None and old != version:
            shutil.rmtree(old, ignore_errors=True)
        self.path = path
        return version

    def _structure(self) -> dict:
        return {
            "format": FORMAT,
            "count": len(self),
            "dimension": self.dimension,
            "metric": METRIC,
            "normalized": "L2",
            "index_type": self.manifest.get("index_type", DEFAULT_INDEX_TYPE),
            "corpus_fingerprint": corpus_fingerprint(self.documents),
            "documents": {d.id: d.content_hash for d in self.documents},
        }

    def _write_files(self, folder: Path) -> None:
        import faiss
        import numpy as np

        def write(name: str, fill: Callable) -> None:
            with (folder / name).open("wb") as fh:
                fill(fh)
                fh.flush()
                os.fsync(fh.fileno())

        write(DOCUMENTS, lambda fh: fh.writelines(
            (json.dumps(d.to_record(), ensure_ascii=False) + "\n").encode("utf-8") for d in self.documents))
        write(VECTORS, lambda fh: np.save(fh, np.ascontiguousarray(self.vectors, dtype=np.float32),
                                          allow_pickle=False))
        write(FAISS_INDEX, lambda fh: fh.write(faiss.serialize_index(self.faiss_index).tobytes()))
        write(MANIFEST, lambda fh: fh.write(json.dumps(self.manifest, ensure_ascii=False, indent=1).encode()))
        _fsync_dir(folder)


def build_faiss(vectors: np.ndarray, index_type: str = DEFAULT_INDEX_TYPE) -> faiss.Index:
    """A FAISS inner-product index over unit vectors, from a factory string ("Flat", "HNSW32", ...)."""
    import faiss

    index = faiss.index_factory(int(vectors.shape[1]), index_type, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        index.train(vectors)
    index.add(vectors)
    return index


def _inconsistency(manifest: dict, documents: list[Document], vectors: np.ndarray, faiss_index) -> str | None:
    """What disagrees between the parts of an index folder, or None."""
    counts = {"manifest": manifest["count"], "documents.jsonl": len(documents), "vectors.npy": len(vectors),
              "index.faiss": faiss_index.ntotal}
    if len(set(counts.values())) > 1:
        return "counts differ: " + ", ".join(f"{k} {v}" for k, v in counts.items())
    if vectors.ndim != 2 or vectors.shape[1] != manifest["dimension"] or faiss_index.d != manifest["dimension"]:
        return f"vectors are not of the manifest's dimension {manifest['dimension']}"
    if [d.id for d in documents] != list(manifest["documents"]):
        return "documents.jsonl does not list the manifest's documents"
    return None


# -------------------------------------------------------------------------------------------- freshness


def corpus_fingerprint(documents: Sequence[Document]) -> str:
    """sha256 over each document's id and content hash, independent of order: equal means same content."""
    digest = hashlib.sha256()
    for key in sorted(f"{d.id}:{d.content_hash}" for d in documents):
        digest.update(key.encode() + b"\n")
    return digest.hexdigest()[:16]


@dataclass
class Changes:
    """How a corpus differs from what an index holds, by document."""

    added: list[Document] = field(default_factory=list)
    changed: list[Document] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # ids
    unchanged: list[Document] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def changes(manifest: dict, documents: Sequence[Document]) -> Changes:
    """Compare the corpus with the document hashes an index's manifest records."""
    held: dict[str, str] = manifest.get("documents", {})
    result = Changes()
    for doc in documents:
        if doc.id not in held:
            result.added.append(doc)
        elif held[doc.id] != doc.content_hash:
            result.changed.append(doc)
        else:
            result.unchanged.append(doc)
    present = {d.id for d in documents}
    result.removed = [i for i in held if i not in present]
    return result


def model_staleness(manifest: dict, model: str) -> list[str]:
    """Reasons the index was not built with `model` as it is now on disk. Hashes the weights only when
    their sizes or times differ from those recorded (never imports torch)."""
    from rag.index.encoder import Encoder, weights_signature

    built = manifest.get("model")
    if built != model:
        return [f"model changed: index built with {built!r}, now {model!r}"]
    if weights_signature(model) == manifest.get("model_files") and manifest.get("model_files") is not None:
        return []
    if Encoder(model).fingerprint != manifest.get("model_fingerprint"):
        return [f"model weights of {model!r} changed since the index was built"]
    return []


def staleness(manifest: dict, documents: Sequence[Document], model: str, *, index_type: str | None = None,
              titles: dict[str, str] | None = None) -> list[str]:
    """Why an index (by its manifest) does not match the corpus documents, model and index type; empty
    when fresh. `titles` (id -> label) lets removed documents be named, not just counted."""
    reasons = model_staleness(manifest, model)
    if index_type is not None and index_type != manifest.get("index_type"):
        reasons.append(f"index type changed: built as {manifest.get('index_type')!r}, asked for {index_type!r}")
    if manifest.get("corpus_fingerprint") == corpus_fingerprint(documents):
        return reasons
    diff = changes(manifest, documents)
    titles = titles or {}
    for kind, items in (("new in", [_label(d) for d in diff.added]),
                        ("changed in", [_label(d) for d in diff.changed]),
                        ("removed from", [titles.get(i, f"id {i}") for i in diff.removed])):
        if items:
            shown = "; ".join(items[:_SHOWN]) + (f"; and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")
            reasons.append(f"{len(items)} document{'s' if len(items) != 1 else ''} {kind} the corpus: {shown}")
    return reasons


def _label(doc: Document) -> str:
    title = doc.title if len(doc.title) <= 70 else doc.title[:67] + "..."
    return f"{doc.date_text} {title!r}"


def read_manifest(path: Path) -> dict | None:
    """The manifest of the index at `path` (plain JSON, no heavy imports), None when there is no index."""
    file = Path(path) / MANIFEST
    if not file.is_file():
        return None
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexUnavailable(f"index at {path} is unreadable ({MANIFEST}: {exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("documents"), dict):
        raise IndexUnavailable(f"index at {path} is unreadable ({MANIFEST} lacks the document list)")
    return manifest


def removed_titles(path: Path, ids: Sequence[str]) -> dict[str, str]:
    """Labels of documents an index holds, for naming removed ones (reads only documents.jsonl)."""
    wanted, found = set(ids), {}
    try:
        with (Path(path) / DOCUMENTS).open(encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                if record.get("id") in wanted:
                    found[record["id"]] = _label(Document.from_record(record))
    except (OSError, ValueError, TypeError):
        pass  # naming is a courtesy; the ids still say what was removed
    return found


# ------------------------------------------------------------------------------------------ versions


@contextmanager
def writer_lock(path: Path) -> Iterator[None]:
    """Exclusive lock for writing the index at `path` (a `.lock` file beside it). flock is released by
    the kernel when its holder dies, so a killed rebuild never leaves a lock that blocks."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f"{path.name}.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def clean_leftovers(path: Path) -> list[Path]:
    """Remove what killed writers left beside `path` (temporary folders and links, superseded versions)
    and adopt a plain index folder as a version; returns what was removed. Call under `writer_lock`."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    if path.is_dir() and not path.is_symlink():
        _adopt_plain_folder(path)
    if not path.exists() and not path.is_symlink():
        newest = max(_versions(path), key=_version_number, default=None)
        if newest is not None and (newest / MANIFEST).is_file():
            _swap_link(path, newest)  # killed between moving a plain folder aside and linking it
    current = _current_version(path)
    removed = []
    for item in path.parent.iterdir():
        name = item.name
        leftover = name.startswith((f"{path.name}.tmp-", f"{path.name}.link-")) or (
            item in _versions(path) and item != current)
        if leftover:
            if item.is_dir() and not item.is_symlink():
                shutil.rmtree(item, ignore_errors=True)
            else:
                item.unlink(missing_ok=True)
            removed.append(item)
    return removed


def _adopt_plain_folder(path: Path) -> None:
    """A plain folder at `path`: an empty one is removed; an index written some other way becomes a
    version folder behind a symlink; anything else is not ours to touch."""
    if not any(path.iterdir()):
        path.rmdir()
    elif (path / MANIFEST).is_file():
        version = path.parent / f"{path.name}.v{_next_version(path)}"
        os.rename(path, version)
        _swap_link(path, version)
    else:
        raise IndexUnavailable(f"{path} exists and is not an index folder; not overwriting it "
                               "(choose another --out or remove it)")


def _versions(path: Path) -> list[Path]:
    pattern = re.compile(re.escape(path.name) + r"\.v\d+")
    return [p for p in path.parent.iterdir() if pattern.fullmatch(p.name) and p.is_dir() and not p.is_symlink()]


def _version_number(version: Path) -> int:
    return int(version.name.rsplit(".v", 1)[1])


def _next_version(path: Path) -> int:
    return max((_version_number(v) for v in _versions(path)), default=0) + 1


def _current_version(path: Path) -> Path | None:
    """The version folder the `path` symlink points at, or None."""
    if not path.is_symlink():
        return None
    target = path.parent / os.readlink(path)
    return target if target.is_dir() else None


def _swap_link(path: Path, version: Path) -> None:
    """Point `path` at `version` in one atomic rename of a fresh symlink over it."""
    link = path.parent / f"{path.name}.link-{os.getpid()}"
    link.unlink(missing_ok=True)
    os.symlink(version.name, link)
    os.replace(link, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
