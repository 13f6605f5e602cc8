"""An index folder: what each file holds, reading one with its consistency checks, and the crash-safe save.

Folder layout (nothing in it is ever unpickled; the names are in `rag.index.files`)::

    manifest.json          see `rag.index.manifest.Manifest`: model, weights fingerprint, dimension, FAISS index
                           type, corpus folder and fingerprint, document count, sentence splitter, BM25
                           parameters, versions, time built
    documents.sqlite       one row per document (id, content hash, JSON record), in vector row order, read on
                           demand; the collection names; the rows a delta retires (`rag.index.schema`, which
                           also reads the older formats: documents.jsonl, hashes listed in manifest.json)
    date_spans.npy         int64 (n, 2): the first and last day (ordinals) each document's date may mean
    collections.npy        int32 (n,): each document's collection, as a code in documents.sqlite's `collections`
    vectors.npy            float32 (n, dimension), unit rows; kept so incremental rebuilds reuse embeddings
    index.faiss            the FAISS index over those rows (row number = FAISS id), see `rag.index.ann`
    sentences.npy          float32 (total sentences, dimension), unit rows: every summary's sentences in row order
    sentence_offsets.npy   int64 (n + 1): row r's sentence vectors are sentences[offsets[r]:offsets[r + 1]]
                           (`rag.index.sentence_vectors`)
    bm25/                  the BM25 index (`bm25s` files: score matrix, vocabulary, parameters; and its average
                           document length), see `rag.index.keyword`
    delta/                 only in an index with a delta segment (manifest "delta"): documents changed or added
                           since the files above were built, as rows after theirs. Its vectors.npy,
                           sentences.npy, sentence_offsets.npy and bm25/ hold those rows (`rag.index.delta`,
                           `rag.index.keyword_delta`);
                           documents.sqlite, date_spans.npy and collections.npy cover every row. The base files
                           are hard-linked from the version before, so one edited summary rewrites megabytes, not
                           gigabytes (`rag.index.segments`).

Loading parses no per-document JSON: documents are fetched by row for the hits shown, the content hashes only
by a rebuild or a staleness check that needs them, and the filters read the two arrays. Vectors, index.faiss,
sentence files and bm25/ are memory-mapped. An index written before the sentence files and BM25 existed
(manifest format 1) loads without them. Saving is crash safe: the folder is published as a new version behind
a symlink (`rag.index.versions`), each file fsynced.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import IndexUnavailable
from rag.index import ann, schema
from rag.index.delta import Delta
from rag.index.faiss_vectors import FaissVectors
from rag.index.files import (
    COLLECTIONS,
    DATE_SPANS,
    DELTA,
    DOCUMENTS_DB,
    MANIFEST,
    VECTORS,
    fsync_path,
    write_synced,
)
from rag.index.keyword import KeywordIndex
from rag.index.keyword_delta import KeywordDelta, SegmentedKeywordIndex
from rag.index.manifest import FORMAT, METRIC, Manifest, corpus_fingerprint, rebuild_command
from rag.index.sentence_vectors import SentenceVectors
from rag.index.versions import link_or_copy, publish

if TYPE_CHECKING:
    import numpy as np

    from rag.documents.document import Document
    from rag.index.backend import SentenceIndex, WordIndex
    from rag.index.store import Index


class _Swapped(Exception):
    """The index path was pointed at a new version while it was being read."""


def read(path: Path) -> dict:
    """Read the index folder at `path` (a version symlink, or a plain folder), checking that its parts agree.

    Args:
        path: the index path.

    Returns:
        The keyword arguments of `rag.index.store.Index` for it.

    Raises:
        IndexUnavailable: no index there (naming the rebuild command), or one whose files are unreadable or
            disagree (naming the full rebuild command).
    """
    path = Path(path)
    if not (path / MANIFEST).is_file():
        raise IndexUnavailable(f"no index at {path}: build it with `{rebuild_command(path)}`")
    try:
        return _read(path.resolve(), path)
    except _Swapped:  # a writer replaced the version while we read it: read the new one
        return _read(path.resolve(), path)


def _read(folder: Path, path: Path) -> dict:
    import numpy as np

    try:
        manifest = Manifest.from_json(json.loads((folder / MANIFEST).read_text(encoding="utf-8")), folder)
        documents, spans, codes = schema.read_documents(folder)
        vectors = FaissVectors.load(folder)
        problem = _inconsistency(manifest, documents, vectors) or _table_inconsistency(len(documents), spans, codes)
        sentences = keyword = delta = None
        base = vectors.count
        splitter = (manifest.sentences or {}).get("splitter", "")
        if not problem and manifest.sentences is not None:  # memory-mapped: read as hits need them
            sentences = SentenceVectors.load(folder, splitter)
            problem = sentences.problem(base, manifest.sentences.get("count"), manifest.dimension)
        if not problem and manifest.delta is not None:  # small: read into memory
            delta = Delta(np.load(folder / DELTA / VECTORS, allow_pickle=False),
                          SentenceVectors.load(folder / DELTA, splitter) if sentences is not None else None,
                          documents.dead())
            problem = _delta_inconsistency(delta, manifest, base)
        if not problem and manifest.bm25 is not None:
            keyword = KeywordIndex.load(folder, manifest.bm25, base)
            if delta is not None:
                keyword = SegmentedKeywordIndex(keyword, KeywordDelta.load(folder / DELTA), delta.dead)
    except FileNotFoundError as exc:
        if path.resolve() != folder:
            raise _Swapped from None
        problem = f"missing {Path(exc.filename or '?').name}"
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RuntimeError) as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if problem:
        raise IndexUnavailable(f"index at {path} is unreadable ({problem}); rebuild it with "
                               f"`{rebuild_command(path, full=True)}`")
    searchable = vectors
    if delta is not None:
        searchable = vectors.with_delta(delta.vectors, delta.dead)
        sentences = None if sentences is None else sentences.with_delta(delta.sentences, delta.dead)
    return {"documents": documents, "vectors": vectors.vectors, "manifest": manifest, "path": path,
            "ann": searchable, "sentences": sentences, "keyword": keyword, "spans": spans,
            "collection_codes": codes, "delta": delta}


def _inconsistency(manifest: Manifest, documents: Sequence[Document], vectors: FaissVectors) -> str | None:
    """What disagrees between the manifest, the documents and the base vectors, or None."""
    ahead = int(manifest.delta.get("rows", 0)) if manifest.delta else 0  # rows of the delta, after the base's
    counts = {"manifest": manifest.count - ahead, "documents": len(documents) - ahead,
              VECTORS: len(vectors.vectors), "index.faiss": ann.size(vectors.faiss)}
    if len(set(counts.values())) > 1:
        return "counts differ: " + ", ".join(f"{k} {v}" for k, v in counts.items())
    stored = vectors.vectors
    if stored.ndim != 2 or stored.shape[1] != manifest.dimension or ann.dimension(vectors.faiss) != manifest.dimension:
        return f"vectors are not of the manifest's dimension {manifest.dimension}"
    return schema.listing_problem(manifest, documents)


def _table_inconsistency(count: int, spans: np.ndarray | None, codes: tuple | None) -> str | None:
    """What disagrees between the document table and the filter arrays, or None."""
    if spans is not None and spans.shape != (count, 2):
        return f"{DATE_SPANS} is not ({count}, 2)"
    if codes is not None and (codes[1].shape != (count,) or (count and int(codes[1].max()) >= len(codes[0]))):
        return f"{COLLECTIONS} does not give each of the {count} documents a known collection"
    return None


def _delta_inconsistency(delta: Delta, manifest: Manifest, base: int) -> str | None:
    """What disagrees between the manifest and the delta segment's files, or None."""
    facts = manifest.delta
    if len(delta) != facts.get("rows") or delta.vectors.ndim != 2 or delta.vectors.shape[1] != manifest.dimension:
        return f"{DELTA}/{VECTORS} is not ({facts.get('rows')}, {manifest.dimension}) as the manifest says"
    if len(delta.dead) != facts.get("dead") or (len(delta.dead) and int(delta.dead[-1]) >= base):
        return f"{DOCUMENTS_DB} does not retire the manifest's {facts.get('dead')} base rows"
    if delta.sentences is not None:
        return delta.sentences.problem(len(delta), facts.get("sentences"), manifest.dimension, f"{DELTA}/")
    return None


def structure(documents: Sequence[Document], vectors: np.ndarray, sentences: SentenceIndex | None,
              keyword: WordIndex | None, delta: Delta | None = None, fingerprint: str | None = None) -> dict:
    """The manifest fields that describe the files rather than how they were made.

    Args:
        documents: every row.
        vectors: the base rows' vectors.
        sentences: every row's sentence vectors, or None.
        keyword: the BM25 index, or None.
        delta: the delta segment, or None.
        fingerprint: the corpus's, when the caller has it (over a million documents it costs seconds); else
            computed here.

    Returns:
        Field name -> value, for `dataclasses.replace` on a `Manifest`.
    """
    ahead = None if delta is None or delta.sentences is None else delta.sentences.total
    return {"format": FORMAT, "dimension": int(vectors.shape[1]), "metric": METRIC, "normalized": "L2",
            "corpus_fingerprint": fingerprint or corpus_fingerprint(documents), "count": len(documents),
            "listed": None, "folder": None,
            "sentences": None if sentences is None else {
                "splitter": sentences.splitter, "count": int(sentences.total - (ahead or 0)), "dtype": "float32"},
            "bm25": None if keyword is None else dict(keyword.params),
            "delta": None if delta is None else {"rows": len(delta), "dead": len(delta.dead), "sentences": ahead}}


def publish_index(index: Index, path: Path, *, before_swap: Callable[[], None] | None = None,
                  reuse: Mapping[str, Path] | None = None) -> Path:
    """Write `index` as a new version of the index at `path` (`versions.publish`) and return the version folder.

    Args:
        index: its manifest already describes the files.
        path: the index path.
        before_swap: runs when the new version is complete but not yet visible.
        reuse: names of files (or bm25/) of the previous version that hold exactly what this one would write:
            hard-linked (`versions.link_or_copy`), not written again.
    """
    reuse = dict(reuse or {})

    def write(folder: Path) -> None:
        for name, source in reuse.items():
            link_or_copy(source, folder / name)
        write_files(index, folder, skip=set(reuse))

    return publish(Path(path), write, before_swap=before_swap)


def write_files(index: Index, folder: Path, skip: Collection[str] = ()) -> None:
    """Write the files of `index`, each fsynced; the manifest last.

    Args:
        index: its manifest already describes the files.
        folder: the new version's folder.
        skip: names already there (linked from the version before): not written.
    """
    import numpy as np

    if DOCUMENTS_DB not in skip or COLLECTIONS not in skip:  # written together: the codes come with the table
        names, codes = index.collections()
        if DOCUMENTS_DB not in skip:
            dead = index.delta.dead if index.delta is not None else np.zeros(0, dtype=np.int64)
            schema.write_documents(folder / DOCUMENTS_DB, index.documents, dead, names)
            fsync_path(folder / DOCUMENTS_DB)
        if COLLECTIONS not in skip:
            write_synced(folder / COLLECTIONS, lambda fh: np.save(fh, codes, allow_pickle=False))
    if DATE_SPANS not in skip:
        write_synced(folder / DATE_SPANS, lambda fh: np.save(fh, index.date_spans(), allow_pickle=False))
    index.ann.save(folder, skip)
    for part in (index.sentences, index.keyword):
        if part is not None:
            part.save(folder, skip)
    fsync_path(folder)
    write_synced(folder / MANIFEST, json.dumps(index.manifest.to_json(), ensure_ascii=False, indent=1).encode())
