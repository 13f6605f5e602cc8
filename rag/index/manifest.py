"""What an index folder says about itself (`manifest.json`), and whether it still matches a corpus and model.

The manifest is plain JSON read without heavy imports, so `--check`, a no-op rebuild and the staleness
guard cost milliseconds. It records the resolved corpus folder the index was built from, so an index can
be checked (and rebuilt) against its own corpus rather than whatever the defaults say.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from rag.documents.document import Document
from rag.documents.sentences import SPLITTER
from rag.errors import IndexUnavailable
from rag.index import schema
from rag.index.ann import DEFAULT_INDEX_TYPE
from rag.index.encoders.weights import fingerprint, weights_signature
from rag.index.files import DOCUMENTS_DB, MANIFEST

METRIC = "inner_product"  # on unit vectors, i.e. cosine similarity
#: manifest layout version; 2 added sentence vectors and the saved BM25 index, 3 moved each document's content
#: hash into documents.sqlite (about 80 MB of JSON parsed at every start at a million documents); 1 and 2 load
FORMAT = 3
EMBEDDED_TEXT = "title + '. ' + summary (title alone when there is no summary)"
_SHOWN = 5  # documents named per kind of change in staleness reasons


@dataclass(frozen=True)
class EncoderRecord:
    """Which encoder made an index's vectors (`rag.index.encoders.choose.Backend` value): for "onnx", the export's
    folder, the weights fingerprint it was exported from and the smallest cosine to sentence-transformers
    measured when it was checked; for "sentence-transformers", `fallback` says why ONNX was not used
    (None when a caller chose it), so serving uses sentence-transformers too and says so."""

    backend: str
    onnx_folder: str | None = None
    onnx_fingerprint: str | None = None
    min_cosine: float | None = None
    fallback: str | None = None

    @classmethod
    def from_json(cls, record: Mapping) -> EncoderRecord:
        """Read the manifest's `encoder` object, ignoring unknown keys.
        Args:
            record: The JSON object.
        Returns:
            The record."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in record.items() if key in known})


@dataclass(frozen=True)
class Manifest:
    """An index's provenance and structure. `corpus_folder` is the resolved folder the index was built from
    (None for an index built in memory). The documents' content hashes are not in it (`document_hashes` reads
    them from the index folder) except in manifests written before format 3, which listed them (`listed`)."""

    model: str | None = None
    model_fingerprint: str | None = None
    model_files: dict[str, list[int]] | None = None  # weight file -> [size, mtime_ns], see weights_signature
    dimension: int = 0
    encoder: EncoderRecord | None = None  # None: built before encoders were recorded (sentence-transformers)
    index_type: str = DEFAULT_INDEX_TYPE
    corpus_fingerprint: str = ""
    count: int = 0  # documents
    corpus_folder: Path | None = None
    corpus_files: tuple[str, ...] = ()
    embedded_text: str = EMBEDDED_TEXT
    #: {"splitter", "count", "dtype"} of the stored summary sentence vectors; None when the index has none
    sentences: dict | None = None
    #: the BM25 parameters of the saved keyword index (`rag.index.keyword.params`); None when it has none
    bm25: dict | None = None
    #: {"rows", "dead", "sentences"} of the delta segment after the base rows (`rag.index.delta.Delta`): its
    #: documents, the base rows they retire and its summary sentences; None when the index is one segment
    delta: dict | None = None
    versions: dict[str, str | None] = field(default_factory=dict)
    built_at: str | None = None
    format: int = FORMAT
    metric: str = METRIC
    normalized: str = "L2"
    #: id -> content hash in row order, as a manifest before format 3 listed them; None since (in the folder)
    listed: dict[str, str] | None = field(default=None, compare=False, repr=False)
    #: the index folder it was read from, whose documents.sqlite holds the hashes; None when built in memory
    folder: Path | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict:
        """The manifest.json object (the corpus as {"folder", "files"}; an old manifest's hash list as
        "documents")."""
        record = asdict(self)
        folder, files = record.pop("corpus_folder"), record.pop("corpus_files")
        record["corpus"] = {"folder": None if folder is None else str(folder), "files": list(files)}
        del record["folder"]
        if record.pop("listed") is not None:
            record["documents"] = dict(self.listed)
        return record

    @classmethod
    def from_json(cls, record: Mapping, folder: Path | None = None) -> Manifest:
        """Read a manifest.json object; unknown keys are ignored, missing ones take their defaults.
        Args:
            record: The JSON object.
            folder: The index folder it was read from, if any.
        Returns:
            The manifest.
        Raises:
            ValueError: It gives neither a document count nor (before format 3) the document list."""
        listed = record.get("documents")
        if listed is not None and not isinstance(listed, dict):
            raise ValueError(f"{MANIFEST} lists its documents wrongly")
        if listed is None and (not isinstance(record.get("count"), int) or isinstance(record.get("count"), bool)):
            raise ValueError(f"{MANIFEST} lacks the document count")
        known = {f.name for f in fields(cls)} - {"corpus_folder", "corpus_files", "listed", "folder"}
        values = {key: record[key] for key in known if record.get(key) is not None}
        if listed is not None:
            values.update(listed=listed, count=len(listed))
        if isinstance(values.get("encoder"), Mapping):
            values["encoder"] = EncoderRecord.from_json(values["encoder"])
        else:
            values.pop("encoder", None)
        corpus = record.get("corpus") or {}
        built_from = corpus.get("folder") if isinstance(corpus, dict) else None
        return cls(**values, corpus_folder=Path(built_from) if built_from else None,
                   corpus_files=tuple(corpus.get("files") or ()) if isinstance(corpus, dict) else (),
                   folder=None if folder is None else Path(folder))


def read_manifest(path: Path) -> Manifest | None:
    """The manifest of an index (plain JSON, no heavy imports).
    Args:
        path: The index; the version folder it names is kept, where `document_hashes` reads the hashes.
    Returns:
        The manifest, or None when there is no index.
    Raises:
        IndexUnavailable: The manifest cannot be read."""
    folder = Path(path).resolve()
    file = folder / MANIFEST
    if not file.is_file():
        return None
    try:
        return Manifest.from_json(json.loads(file.read_text(encoding="utf-8")), folder)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise IndexUnavailable(f"index at {path} is unreadable ({MANIFEST}: {exc})") from None


def document_hashes(manifest: Manifest) -> dict[str, str]:
    """Each document's content hash by id, in row order, rows a delta retired left out (`schema.hashes`: a
    million rows take about a second, so only a rebuild or a staleness check whose corpus fingerprint differs
    reads them); empty for a manifest built in memory.

    Args:
        manifest: read from an index folder, or built in memory.

    Raises:
        IndexUnavailable: the table cannot be read.
    """
    import sqlite3

    try:
        return schema.hashes(manifest)
    except sqlite3.Error as exc:
        raise IndexUnavailable(f"index at {manifest.folder} is unreadable ({DOCUMENTS_DB}: {exc}); rebuild it with "
                               f"`{rebuild_command(manifest.folder, full=True)}`") from None


def rebuild_command(index_dir: Path, corpus_dir: Path | None = None, model: str | None = None, *,
                    full: bool = False) -> str:
    """The rebuild command for an index, ready to paste into a shell (every path quoted).
    Args:
        index_dir: The index's path (`--out`).
        corpus_dir: The corpus (`--corpus`); None leaves the default.
        model: The model (`--model`); None leaves the default.
        full: Rebuild from scratch (`--full`).
    Returns:
        The command line."""
    parts = ["python", "-m", "embeddings.rebuild"]
    if full:
        parts.append("--full")
    if corpus_dir is not None:
        parts += ["--corpus", str(corpus_dir)]
    parts += ["--out", str(index_dir)]
    if model is not None:
        parts += ["--model", model]
    return shlex.join(parts)


# -------------------------------------------------------------------------------------------- freshness


def corpus_fingerprint(documents: Sequence[Document]) -> str:
    """sha256 over each document's id and content hash, independent of order: equal means same content.
    Args:
        documents: The corpus documents.
    Returns:
        The first 16 hex digits."""
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


def changes(manifest: Manifest | None, documents: Sequence[Document], held: Mapping[str, str] | None = None) -> Changes:
    """Compare the corpus with the document hashes an index holds.
    Args:
        manifest: The index's manifest (its `document_hashes`); None: no index yet.
        documents: The corpus documents.
        held: id -> hash, used instead of the manifest's when given.
    Returns:
        The documents added, changed and unchanged, and the ids removed."""
    if held is None:
        held = document_hashes(manifest) if manifest is not None else {}
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


def model_staleness(manifest: Manifest, model: str, model_cache: Path | None = None) -> list[str]:
    """Reasons the index was not built with `model` as it is now on disk. Hashes the weights only when
    their sizes or times differ from those recorded (never imports torch).

    Args:
        manifest: the index's manifest.
        model: the model asked for.
        model_cache: where a split pip model is unpacked (`Settings.model_cache`).

    Returns:
        The reasons, empty when the index was built with this model's current weights.
    """
    if manifest.model != model:
        return [f"model changed: index built with {manifest.model!r}, now {model!r}"]
    if manifest.model_files is not None and weights_signature(model, model_cache) == manifest.model_files:
        return []
    if fingerprint(model, model_cache) != manifest.model_fingerprint:
        return [f"model weights of {model!r} changed since the index was built"]
    return []


def parts_staleness(manifest: Manifest, bm25: Mapping) -> list[str]:
    """Reasons the index lacks, or holds outdated, sentence vectors or BM25 index; a rebuild refreshes them
    without embedding any document again.
    Args:
        manifest: The index's manifest.
        bm25: The BM25 parameters asked for (`rag.index.keyword.params`).
    Returns:
        The reasons; empty when both are current."""
    reasons = []
    if manifest.sentences is None:
        reasons.append("the index has no summary sentence vectors (built before the rebuild stored them)")
    elif manifest.sentences.get("splitter") != SPLITTER:
        reasons.append(f"summary sentences were split by {manifest.sentences.get('splitter')!r}, now {SPLITTER!r}")
    if manifest.bm25 is None:
        reasons.append("the index has no saved BM25 keyword index (built before the rebuild stored it)")
    elif dict(manifest.bm25) != dict(bm25):
        built, asked = _bm25_words(manifest.bm25), _bm25_words(bm25)
        reasons.append(f"BM25 settings changed: built with {built}, now {asked}")
    return reasons


def _bm25_words(bm25: Mapping) -> str:
    return " ".join(f"{key}={bm25.get(key)}" for key in ("method", "k1", "b")) + (
        f" ({bm25.get('tokenizer')})" if bm25.get("tokenizer") else "")


def staleness(manifest: Manifest, documents: Sequence[Document], model: str, *, index_type: str | None = None,
              titles: Mapping[str, str] | Callable[[list[str]], Mapping[str, str]] | None = None,
              bm25: Mapping | None = None, held: Mapping[str, str] | None = None,
              model_cache: Path | None = None) -> list[str]:
    """Why an index does not match the corpus documents, model and index type.
    Args:
        manifest: The index's manifest.
        documents: The corpus documents.
        model: The model asked for.
        index_type: The index type asked for; None: any.
        titles: id -> label, or a function giving the removed ids' labels: removed documents named, not counted.
        bm25: The BM25 parameters asked for; lacking or outdated sentence vectors or BM25 index are stale too.
        held: As for `changes`; the hashes are read only when the corpus fingerprint differs.
        model_cache: As for `model_staleness`.
    Returns:
        The reasons; empty when fresh."""
    reasons = model_staleness(manifest, model, model_cache)
    if bm25 is not None:
        reasons += parts_staleness(manifest, bm25)
    if index_type is not None and index_type != manifest.index_type:
        reasons.append(f"index type changed: built as {manifest.index_type!r}, asked for {index_type!r}")
    if manifest.corpus_fingerprint == corpus_fingerprint(documents):
        return reasons
    diff = changes(manifest, documents, held)
    titles = (titles(diff.removed) if diff.removed else {}) if callable(titles) else (titles or {})
    for kind, items in (("new in", [label(d) for d in diff.added]),
                        ("changed in", [label(d) for d in diff.changed]),
                        ("removed from", [titles.get(i, f"id {i}") for i in diff.removed])):
        if items:
            shown = "; ".join(items[:_SHOWN]) + (f"; and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")
            reasons.append(f"{len(items)} document{'s' if len(items) != 1 else ''} {kind} the corpus: {shown}")
    return reasons


def label(doc: Document) -> str:
    """A document as named in staleness reasons: its printed date and (shortened) title.
    Args:
        doc: The document.
    Returns:
        The label."""
    title = doc.title if len(doc.title) <= 70 else doc.title[:67] + "..."
    return f"{doc.date_text} {title!r}"


def removed_titles(path: Path, ids: Sequence[str]) -> dict[str, str]:
    """Labels of documents an index holds, for naming removed ones (reads only those documents' records).

    Args:
        path: the index folder.
        ids: the documents' ids.

    Returns:
        id -> `label`, for those found; empty when the files cannot be read (naming is a courtesy: the ids
        still say what was removed).
    """
    import sqlite3

    try:
        return {id_: label(doc) for id_, doc in schema.by_id(path, ids).items()}
    except (OSError, ValueError, TypeError, sqlite3.Error):
        return {}
