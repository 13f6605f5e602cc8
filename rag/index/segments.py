"""Delta segments: how a rebuild takes a few changed documents into a large index without writing it again.

Writing a million-document index means gigabytes of vectors, a FAISS index, sentence vectors and a BM25
index: a one-document rebuild took 136 s at a million documents that way (bench/scale.py). Instead, when the
index is large (`Settings.delta_min_rows`) and the change small (DELTA_MAX_SHARE), the rebuild keeps those
files as the base, hard-linked into the new version, and writes the changed and added documents as a delta
segment after the base rows; the base rows they replace, and those of removed documents, are retired
(`rag.index.delta`). The delta is written afresh from the base by each rebuild, so it never stacks;
once it would pass DELTA_MAX_SHARE, the rebuild writes one new base of everything (a merge).

What a delta changes in the answers: nothing for the dense signal (its rows are scanned exactly beside the
base's FAISS index) and little for BM25, whose delta rows are scored on the base's average length (word
frequencies count both segments; the base's own scores keep the base's frequencies until the merge), as
Lucene scores segments before a merge. A merge (`--full`, or a change past the share) restores exact scores.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rag.documents.sentences import SPLITTER
from rag.index.delta import Delta
from rag.index.files import BM25, FAISS_INDEX, SENTENCE_OFFSETS, SENTENCES, VECTORS
from rag.index.keyword import keyword_text
from rag.index.schema import JoinedDocuments, collection_codes, current, date_spans
from rag.index.sentence_vectors import SentenceVectors
from rag.index.store import Index

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    import numpy as np

    from rag.documents.document import Document
    from rag.index.manifest import Changes, Manifest

#: A delta of more documents than this share of the base is merged into a new base: each question scans the
#: delta's vectors exactly (50,000 rows: about 5 ms), and BM25 statistics drift as it grows.
DELTA_MAX_SHARE = 0.05


@dataclass(frozen=True)
class Plan:
    """What a delta rebuild writes: the documents of the delta (added, changed, then those of the previous
    delta) and the base rows retired."""

    ahead: list[Document]
    dead: np.ndarray  # sorted int64 base rows


def plan(old: Index, diff: Changes, old_rows: Mapping[str, int], bm25: Mapping, min_rows: int) -> Plan | None:
    """The delta that brings `old` up to date with the corpus `diff` compares it with, or None when a full
    rebuild is due: the base is smaller than `min_rows`, the delta would pass DELTA_MAX_SHARE, or the base lacks
    what a delta needs (sentence vectors split the current way, a BM25 index with `bm25` parameters and its
    statistics, a document table of the current format).

    Args:
        old: the index as loaded.
        diff: how the corpus differs from it.
        old_rows: each of its live documents' row, by id.
        bm25: the BM25 parameters asked for.
        min_rows: `Settings.delta_min_rows`.
    """
    import numpy as np

    base = old.base_rows
    keyword = old.keyword
    if (base < min_rows or not current(old.manifest, old.documents)
            or old.sentences is None or old.sentences.splitter != SPLITTER
            or keyword is None or keyword.average_length is None or keyword.params != dict(bm25)):
        return None
    kept = np.zeros(base, dtype=bool)
    ahead = diff.added + diff.changed
    for doc in diff.unchanged:  # stays in the base, or (written by the last delta) is written again
        row = old_rows[doc.id]
        if row < base:
            kept[row] = True
        else:
            ahead.append(doc)
    if len(ahead) > DELTA_MAX_SHARE * base:
        return None
    return Plan(ahead, np.flatnonzero(~kept))


def assemble(old: Index, delta: Plan, old_rows: Mapping[str, int], fresh: Mapping[str, np.ndarray],
             fresh_sentences: Mapping[str, np.ndarray], manifest: Manifest) -> Index:
    """The new index: `old`'s base with `delta`'s documents after it, each part given the delta
    (`with_delta`: it replaces any delta `old` had).

    Args:
        old: the index as loaded.
        delta: the plan.
        old_rows: each of `old`'s live documents' row, by id.
        fresh: new vectors by id; the other delta documents' come from `old`.
        fresh_sentences: new sentence vectors by id, likewise.
        manifest: the provenance and the corpus fingerprint.
    """
    import numpy as np

    ahead, base = delta.ahead, old.base_rows
    dimension = old.dimension

    def rows_of(vectors: Mapping[str, np.ndarray], of_old) -> list[np.ndarray]:
        return [vectors[d.id] if d.id in vectors else of_old(old_rows[d.id]) for d in ahead]

    vectors = np.stack(rows_of(fresh, lambda row: old.vectors_of([row])[0])) if ahead else np.zeros(
        (0, dimension), dtype=np.float32)
    parts = rows_of(fresh_sentences, old.sentence_vectors)
    sentences = SentenceVectors.assemble([len(p) for p in parts], np.concatenate(parts) if any(
        len(p) for p in parts) else np.zeros((0, dimension), dtype=np.float32))
    names, codes = old.collections()
    names, added = collection_codes((d.collection for d in ahead), names)  # the base's names, then new ones
    codes = np.concatenate([np.asarray(codes[:base]), added])
    spans = np.concatenate([np.asarray(old.date_spans()[:base]), date_spans(ahead)])
    return Index(JoinedDocuments(old.documents, base, ahead), old.vectors,
                 replace(manifest, index_type=old.manifest.index_type, count=base + len(ahead)),
                 ann=old.ann.with_delta(vectors, delta.dead), sentences=old.sentences.with_delta(sentences, delta.dead),
                 keyword=old.keyword.with_delta([keyword_text(d) for d in ahead], delta.dead), spans=spans,
                 collection_codes=(names, codes), delta=Delta(vectors, sentences, delta.dead))


def base_files(old_folder: Path) -> dict[str, Path]:
    """The previous version's base files, which a delta version hard-links unchanged.

    Args:
        old_folder: the previous version's folder.
    """
    return {name: old_folder / name for name in (VECTORS, FAISS_INDEX, SENTENCES, SENTENCE_OFFSETS, BM25)}


__all__ = ["DELTA_MAX_SHARE", "Plan", "assemble", "base_files", "plan"]
