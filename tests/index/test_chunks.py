"""The working folder of a rebuild: chunks saved whole or not at all, reused only for the same texts and model,
a resume that embeds only the rest and says so, a stop that keeps what was done."""

from __future__ import annotations

import numpy as np
import pytest

from rag.index import chunks
from rag.index.chunks import (
    CHUNK_ENV,
    PAUSE_AFTER_CHUNK_ENV,
    PAUSE_BEFORE_SWAP_ENV,
    RebuildHooks,
    WorkFolder,
    texts_key,
    work_folder,
)

KEY = {"model": "m", "fingerprint": "f", "backend": "onnx", "dimension": 4}


class FakeEncoder:
    """A vector per text from its length and first letter; records what it was asked to embed."""

    def __init__(self, fail_after: int | None = None):
        self.texts: list[str] = []
        self.fail_after = fail_after

    def encode(self, texts, **options):
        if self.fail_after is not None and len(self.texts) >= self.fail_after:
            raise KeyboardInterrupt
        self.texts += texts
        vectors = np.array([[len(t), ord(t[0]), 1.0, 0.0] for t in texts], dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _items(n: int) -> list[list[str]]:
    return [[f"text {i}" + "!" * (i % 5)] for i in range(n)]


def _embed(work, items, encoder, lines, hooks=None):
    return chunks.embed(work, "documents", items, encoder, label="embedding", unit="docs", progress=False,
                        say=lines.append, hooks=hooks)


def test_the_working_folder_is_a_sibling_of_the_index(tmp_path):
    assert work_folder(tmp_path / "embeddings" / "index") == tmp_path / "embeddings" / "index.work"


def test_the_test_only_hooks_are_read_from_the_environment_once():
    assert RebuildHooks.from_env({}) == RebuildHooks(chunk_documents=chunks.CHUNK_DOCUMENTS)
    hooks = RebuildHooks.from_env({CHUNK_ENV: "3", PAUSE_AFTER_CHUNK_ENV: "0.5", PAUSE_BEFORE_SWAP_ENV: "60"})
    assert hooks == RebuildHooks(chunk_documents=3, pause_after_chunk=0.5, pause_before_swap=60.0)


def test_a_resumed_run_embeds_only_what_no_chunk_holds_and_says_so(tmp_path):
    hooks = RebuildHooks.from_env({CHUNK_ENV: "3"})
    work, items = WorkFolder(tmp_path / "w", KEY), _items(10)
    stopped, lines = FakeEncoder(fail_after=6), []
    with pytest.raises(KeyboardInterrupt):
        _embed(work, items, stopped, lines, hooks)
    assert len(list((tmp_path / "w").glob("documents-*.json"))) == 2  # two whole chunks of 3 kept
    assert lines == [f"stopped: 6 of 10 documents embedded are kept in {tmp_path / 'w'}; run the rebuild again "
                     "to resume"]

    resumed, lines = FakeEncoder(), []
    vectors, reused, reused_texts = _embed(work, items, resumed, lines, hooks)
    assert (reused, reused_texts) == (6, 6)
    assert sorted(resumed.texts) == sorted(t for item in items[6:] for t in item)
    assert lines == [f"resuming: 6 of 10 documents already embedded ({tmp_path / 'w'})"]
    clean = _embed(WorkFolder(tmp_path / "clean", KEY), items, FakeEncoder(), [], hooks)[0]
    np.testing.assert_array_equal(np.concatenate(vectors), np.concatenate(clean))


def test_items_without_texts_need_no_chunk_and_sentences_keep_their_counts(tmp_path):
    work = WorkFolder(tmp_path / "w", {**KEY, "splitter": "s1"})
    items = [["One.", "Two two."], [], ["Three three three."]]
    vectors = chunks.embed(work, "sentences", items, FakeEncoder(), label="sentences", unit="sentences",
                           progress=False, say=print)[0]
    assert [v.shape for v in vectors] == [(2, 4), (0, 4), (1, 4)]
    assert set(work.saved("sentences")) == {texts_key(items[0]), texts_key(items[2])}
    assert work.saved("documents") == {}


def test_chunks_of_another_model_or_half_written_are_ignored_and_deleted(tmp_path):
    work = WorkFolder(tmp_path / "w", KEY)
    vectors = np.eye(4, dtype=np.float32)[:2]
    work.save("documents", ["a", "b"], [1, 1], vectors)
    assert set(work.saved("documents")) == {"a", "b"}
    np.testing.assert_array_equal(work.saved("documents")["b"], vectors[1:])

    (tmp_path / "w" / "documents-000007.npy").write_bytes(b"killed while writing")  # no JSON: never finished
    (tmp_path / "w" / "documents-000008.npy.partial").write_bytes(b"half")
    (tmp_path / "w" / "documents-000009.npy").write_bytes(b"whole, but stopped before its JSON was renamed")
    (tmp_path / "w" / "documents-000009.json.partial").write_text("{\"key\"", encoding="utf-8")
    truncated = work.save("documents", ["c"], [1], vectors[:1]).with_suffix(".npy")
    truncated.write_bytes(truncated.read_bytes()[:60])  # a chunk whose vectors were cut short
    assert set(work.saved("documents")) == {"a", "b"}
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == ["documents-000001.json", "documents-000001.npy"]

    assert WorkFolder(tmp_path / "w", {**KEY, "fingerprint": "other weights"}).saved("documents") == {}
    assert list((tmp_path / "w").iterdir()) == []
    work.remove()
    assert not (tmp_path / "w").exists()
