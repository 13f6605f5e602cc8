"""End to end through `python -m embeddings.rebuild` on a copy of the corpus, with the real model:
scratch, no-op without torch, one edit, one deletion, model switch, --check, SIGKILL, Ctrl-C and SIGTERM mid-run,
errors, and which output paths a rebuild (also `Retriever.load(..., rebuild=True)`) may write."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import FOREIGN, ROOT, foreign_path, free_port, listing

from bench.synthetic import write_synthetic
from rag.documents.corpus import load_corpus
from rag.documents.sentences import SPLITTER, sentences
from rag.errors import RebuildError
from rag.index import ann
from rag.index.build import PAUSE_BEFORE_SWAP_ENV, rebuild
from rag.index.chunks import CHUNK_ENV, PAUSE_AFTER_CHUNK_ENV
from rag.index.encoders.onnx_export import MIN_COSINE
from rag.index.encoders.weights import resolve_model
from rag.index.files import BM25, FAISS_INDEX, MANIFEST, SENTENCES, VECTORS
from rag.index.keyword import params
from rag.index.store import Index
from rag.search.retriever import Retriever
from rag.settings import Settings

PAGE = "000_e07505288b6fd7bd.txt"
ANDROPOV = "Soviet politburo member Yuri Andropov"


def run(work: Path, *args: str, python_args: tuple[str, ...] = (), **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(_command(work, *args, python_args=python_args), capture_output=True, text=True,
                          env=_env(**env), timeout=600)


def _command(work: Path, *args: str, python_args: tuple[str, ...] = ()) -> list[str]:
    return [sys.executable, *python_args, "-m", "embeddings.rebuild", "--corpus", str(work / "corpus"),
            "--out", str(work / "index"), *args]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def _edit(work: Path, old: str, new: str) -> None:
    page = work / "corpus" / PAGE
    text = page.read_text(encoding="utf-8")
    assert old in text
    page.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A corpus copy and an index built from scratch through the CLI, once per module."""
    work = tmp_path_factory.mktemp("scratch")
    shutil.copytree(ROOT / "corpus", work / "corpus")
    return work, run(work)


@pytest.fixture
def work(scratch, tmp_path) -> Path:
    """A private copy of the scratch-built corpus and index (the index symlink is copied as a link)."""
    shutil.copytree(scratch[0], tmp_path / "work", symlinks=True)
    return tmp_path / "work"


@pytest.mark.slow
def test_scratch_build_writes_a_consistent_index_and_a_summary(scratch):
    work, result = scratch
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"full rebuild \(no index yet\): added 20, changed 0, removed 0, total 20 in [\d.]+ s "
                        r"\(embedding [\d.]+ s, \d+ docs/s, onnx\); 34 summary sentences embedded",
                        result.stdout.strip())
    assert "embedding: 100%" in result.stderr and "20/20" in result.stderr and " docs/s]" in result.stderr
    assert "sentences: 100%" in result.stderr and "34/34" in result.stderr
    for phase in ("building the BM25 keyword index (20 documents)", "building the FAISS Flat index (20 vectors)",
                  f"writing the index to {work / 'index'}"):
        assert phase in result.stderr.splitlines()
    assert not (work / "index.work").exists()  # the embeddings kept for a resume go once the index is in place
    index = Index.load(work / "index")
    manifest = json.loads((work / "index" / MANIFEST).read_text())
    assert len(index) == manifest["count"] == 20 and manifest["dimension"] == 384
    assert manifest["model"] == "sentence-transformers/all-MiniLM-L6-v2" and manifest["index_type"] == "Flat"
    assert manifest["metric"] == "inner_product" and manifest["normalized"] == "L2"
    assert manifest["corpus"]["folder"] == str((work / "corpus").resolve())
    assert {"faiss-cpu", "numpy", "sentence-transformers", "torch", "onnxruntime"} <= set(manifest["versions"])
    record = manifest["encoder"]
    assert record["backend"] == "onnx" and record["fallback"] is None and record["min_cosine"] >= MIN_COSINE
    assert record["onnx_fingerprint"] == manifest["model_fingerprint"] == Path(record["onnx_folder"]).name
    assert (Path(record["onnx_folder"]) / "model.onnx").is_file()
    assert [d.id for d in index.documents] == [d.id for d in load_corpus(work / "corpus").documents]
    assert manifest["sentences"] == {"splitter": SPLITTER, "count": len(index.sentences.vectors), "dtype": "float32"}
    assert manifest["bm25"] == params(Settings()) and index.keyword is not None
    assert "summary sentences embedded" in result.stdout


class CountingEncoder:
    """The real encoder, recording every text it is asked to embed."""

    def __init__(self, encoder):
        self.inner, self.texts = encoder, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode(self, texts, **options):
        self.texts += texts
        return self.inner.encode(texts, **options)


@pytest.mark.slow
def test_one_edit_embeds_only_that_documents_text_and_sentences(work, encoder):
    old = Index.load(work / "index")
    _edit(work, ANDROPOV, "Soviet Politburo member Yuri V. Andropov")
    counting = CountingEncoder(encoder)
    report = rebuild(Settings(corpus_dir=work / "corpus", index_dir=work / "index"), encoder=counting, progress=False)
    new = Index.load(work / "index")
    (doc,) = [d for d in new.documents if "Yuri V. Andropov" in (d.summary or "")]
    parts = sentences(doc.summary)
    assert counting.texts[0] == doc.embedding_text and report.sentences == len(parts) > 1
    assert sorted(counting.texts[1:]) == sorted(parts)  # one chunk's sentences, longest first
    row = [d.id for d in new.documents].index(doc.id)
    np.testing.assert_allclose(new.sentence_vectors(row), encoder.encode(parts), atol=1e-5)
    for other in range(len(new)):
        if other != row:
            np.testing.assert_array_equal(new.sentence_vectors(other), old.sentence_vectors(other))


def _to_old_format(work: Path) -> None:
    """Make the index look as one written before sentence vectors and BM25 were stored."""
    folder = (work / "index").resolve()
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest.update(format=1, sentences=None, bm25=None)
    (folder / MANIFEST).write_text(json.dumps(manifest))
    for name in ("sentences.npy", "sentence_offsets.npy"):
        (folder / name).unlink()
    shutil.rmtree(folder / "bm25")


@pytest.mark.slow
def test_an_old_format_index_gets_sentence_vectors_and_bm25_without_reembedding_documents(work):
    _to_old_format(work)
    vectors = np.load(work / "index" / VECTORS)
    check = run(work, "--check")
    assert check.returncode == 1 and "  - the index has no summary sentence vectors" in check.stdout
    assert "  - the index has no saved BM25 keyword index" in check.stdout
    result = run(work)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("the index has no summary sentence vectors (built before the rebuild stored "
                                    "them); the index has no saved BM25 keyword index (built before the rebuild "
                                    "stored it): added 0, changed 0, removed 0, total 20 in ")
    assert "20/20" not in result.stderr  # documents were not embedded again, only their sentences
    index = Index.load(work / "index")
    np.testing.assert_array_equal(index.vectors, vectors)
    assert index.sentences is not None and index.keyword is not None
    assert run(work).stdout.strip().endswith("nothing to do")


@pytest.mark.slow
def test_other_bm25_settings_rebuild_only_bm25_without_the_model(work):
    check = run(work, "--check", RAG_BM25_B="0.5")
    assert check.returncode == 1 and "BM25 settings changed: built with method=bm25+ k1=1.5 b=0.3" in check.stdout
    result = run(work, python_args=("-X", "importtime"), RAG_BM25_B="0.5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("BM25 settings changed: ")
    assert "torch" not in {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()}
    assert json.loads((work / "index" / MANIFEST).read_text())["bm25"]["b"] == 0.5
    assert run(work, RAG_BM25_B="0.5").stdout.strip().endswith("nothing to do")


@pytest.mark.slow
def test_noop_rebuild_says_so_without_importing_torch(work):
    before = (work / "index" / MANIFEST).read_text()
    result = run(work, python_args=("-X", "importtime"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"index at {work / 'index'} is up to date (20 documents); nothing to do"
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line}
    assert "rag" in imported and not imported & {"torch", "sentence_transformers", "transformers", "faiss", "numpy"}
    assert (work / "index" / MANIFEST).read_text() == before


@pytest.mark.slow
def test_one_changed_summary_reembeds_exactly_that_document(work, encoder):
    old = Index.load(work / "index")
    _edit(work, ANDROPOV, "Soviet Politburo member Yuri V. Andropov")
    result = run(work, "--quiet")
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""
    new = Index.load(work / "index")
    changed = [i for i in range(len(new)) if not np.array_equal(new.vectors[i], old.vectors[i])]
    assert len(changed) == 1 and "Yuri V. Andropov" in new.documents[changed[0]].summary
    expected = encoder.encode([new.documents[changed[0]].embedding_text])[0]
    np.testing.assert_allclose(new.vectors[changed[0]], expected, atol=1e-5)


@pytest.mark.slow
def test_an_edit_is_embedded_by_the_stored_onnx_model_without_importing_torch(work):
    before = json.loads((work / "index" / MANIFEST).read_text())["encoder"]
    _edit(work, ANDROPOV, "Soviet Politburo member Yuri V. Andropov")
    result = run(work, python_args=("-X", "importtime"))
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"added 0, changed 1, removed 0, total 20 in [\d.]+ s "
                        r"\(embedding [\d.]+ s, \d+ docs/s, onnx\); \d+ summary sentences embedded",
                        result.stdout.strip())
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line}
    assert "onnxruntime" in imported and not imported & {"torch", "sentence_transformers", "transformers"}
    assert json.loads((work / "index" / MANIFEST).read_text())["encoder"] == before


@pytest.mark.slow
def test_a_model_onnx_cannot_serve_is_embedded_and_served_by_sentence_transformers(work, tmp_path, caplog):
    model = tmp_path / "cls-model"  # the bundled model with CLS pooling: no ONNX export for it
    shutil.copytree(resolve_model("all-MiniLM-L6-v2"), model)
    (model / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": 384, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}))
    result = run(work, "--model", str(model), RAG_ONNX_CACHE=str(tmp_path / "onnx"))
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert notes == ["note: using sentence-transformers, not ONNX: ONNX is not supported for 'cls' pooling "
                     "(only mean)"]
    assert result.stdout.strip().endswith("docs/s, sentence-transformers); 34 summary sentences embedded")
    record = json.loads((work / "index" / MANIFEST).read_text())["encoder"]
    assert record["backend"] == "sentence-transformers" and "'cls' pooling" in record["fallback"]
    assert not (tmp_path / "onnx").exists() or not any((tmp_path / "onnx").iterdir())

    from rag import Retriever
    from rag.index.encoders.sentence_transformer import Encoder

    with caplog.at_level("WARNING"):
        retriever = Retriever.load(work / "index")  # the index's own model, not the default
    assert type(retriever.encoder) is Encoder and retriever.settings.model == str(model)
    assert any("'cls' pooling" in note for note in retriever.search("test ban treaty").notes)
    assert "not ONNX" in caplog.text


@pytest.mark.slow
def test_deleted_entry_leaves_the_index_without_loading_the_model(work):
    old = Index.load(work / "index")
    page = work / "corpus" / PAGE
    text = page.read_text(encoding="utf-8")
    start, end = text.index("  • April 04, 1963"), text.index("  • April 27, 1963")
    page.write_text(text[:start] + text[end:], encoding="utf-8")
    gone = next(d for d in old.documents if d.date == "1963-04-04")

    result = run(work, python_args=("-X", "importtime"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("added 0, changed 0, removed 1, total 19 in ")
    assert "torch" not in {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()}
    new = Index.load(work / "index")
    assert gone.id not in {d.id for d in new.documents} and len(new) == 19
    assert all(new.documents[row].id != gone.id for row in new.search(old.vectors[1], min_similarity=-1, k=5)[0])


@pytest.mark.slow
def test_switching_model_rebuilds_everything(work, tmp_path):
    other = tmp_path / "copy-of-minilm"
    shutil.copytree(resolve_model("all-MiniLM-L6-v2"), other)
    check = run(work, "--check", "--model", str(other))
    assert check.returncode == 1 and f"now '{other}'" in check.stdout

    result = run(work, "--quiet", RAG_MODEL=str(other))  # the environment variable chooses the model too
    assert result.returncode == 0, result.stderr
    manifest = json.loads((work / "index" / MANIFEST).read_text())
    assert manifest["model"] == str(other)
    assert run(work, "--model", str(other)).stdout.strip().endswith("nothing to do")
    assert run(work).stdout.startswith("full rebuild (model changed: index built with ")


@pytest.mark.slow
def test_check_names_what_is_stale_and_passes_when_fresh(work):
    assert run(work, "--check").returncode == 0
    _edit(work, ANDROPOV, "Andropov, a Soviet Politburo member,")
    result = run(work, "--check")
    assert result.returncode == 1
    assert result.stdout.splitlines()[1] == ("  - 1 document changed in the corpus: April 03, 1963 'Memorandum of "
                                             "Conversation between Yuri Andropov and the Central Co...'")
    assert run(work, "--check", "--out", str(work / "none")).stdout.strip().endswith(f"no index at {work / 'none'}")


@pytest.mark.slow
def test_hnsw_index_type_is_recorded_without_reembedding(work):
    result = run(work, "--index-type", "HNSW32")
    assert result.returncode == 0 and result.stdout.startswith("FAISS index type Flat -> HNSW32: added 0")
    assert Index.load(work / "index").manifest.index_type == "HNSW32"
    assert run(work).stdout.strip().endswith("nothing to do")  # the type is kept, not reset to Flat


def _start(work: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(_command(work), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(**env))


def _kill_when(process: subprocess.Popen, marker: bytes, timeout: float = 300) -> bytes:
    """SIGKILL the process as soon as the regular expression `marker` matches its stderr."""
    seen = _read_until(process, marker, timeout)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return seen


def _read_until(process: subprocess.Popen, marker: bytes, timeout: float = 300) -> bytes:
    """The process's stderr up to where the regular expression `marker` matches."""
    seen, deadline = b"", time.monotonic() + timeout
    while not re.search(marker, seen):
        chunk = os.read(process.stderr.fileno(), 4096)
        assert chunk and time.monotonic() < deadline, f"process ended before {marker!r}: {seen[-500:]!r}"
        seen += chunk
    return seen


def _assert_untouched(work: Path, old: Index) -> None:
    index = Index.load(work / "index")
    assert [d.id for d in index.documents] == [d.id for d in old.documents]
    assert [d.content_hash for d in index.documents] == [d.content_hash for d in old.documents]
    assert index.manifest.count == len(index) == len(index.vectors) == ann.size(index.ann.faiss)
    np.testing.assert_array_equal(index.vectors, old.vectors)


@pytest.mark.slow
def test_sigkill_while_embedding_leaves_the_old_index(work):
    old = Index.load(work / "index")
    write_synthetic(work / "corpus" / "synthetic.jsonl", 400)
    process = _start(work)
    _kill_when(process, rb"[1-9]\d*/400 \[")  # some documents embedded, most not yet
    assert process.returncode == -signal.SIGKILL
    _assert_untouched(work, old)
    (work / "corpus" / "synthetic.jsonl").unlink()
    result = run(work)  # no stale lock blocks the next run
    assert result.returncode == 0 and result.stdout.strip().endswith("nothing to do")


@pytest.mark.slow
def test_sigkill_while_writing_leaves_the_old_index_and_the_next_run_recovers(work):
    old = Index.load(work / "index")
    _edit(work, ANDROPOV, "Soviet Politburo member Yuri V. Andropov")
    process = _start(work, **{PAUSE_BEFORE_SWAP_ENV: "60"})
    _kill_when(process, b"pausing")
    leftovers = [p.name for p in work.iterdir() if ".tmp-" in p.name]
    assert len(leftovers) == 1 and (work / leftovers[0] / VECTORS).is_file()  # killed with the new one written
    _assert_untouched(work, old)

    result = run(work)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("added 0, changed 1, removed 0, total 20 in ")
    assert "Yuri V. Andropov" in Index.load(work / "index").documents[0].summary
    assert sorted(p.name for p in work.iterdir() if p.name.startswith("index")) == [
        "index", "index.lock", (work / "index").resolve().name]


@pytest.mark.slow
def test_a_rebuild_killed_after_some_chunks_resumes_with_only_the_rest(tmp_path, monkeypatch):
    from rag.index.encoders.onnx_runtime import OnnxEncoder

    for name in ("killed", "clean"):
        shutil.copytree(ROOT / "corpus", tmp_path / name / "corpus")
        write_synthetic(tmp_path / name / "corpus" / "synthetic.jsonl", 200)
    work = tmp_path / "killed"
    process = _start(work, **{CHUNK_ENV: "40", PAUSE_AFTER_CHUNK_ENV: "5"})
    _kill_when(process, rb"saved documents-000003.json \(120 of 220\)")
    assert process.returncode == -signal.SIGKILL and not (work / "index").exists()
    assert len(list((work / "index.work").glob("documents-*.json"))) == 3

    encoded = []
    real_encode = OnnxEncoder.encode
    monkeypatch.setattr(OnnxEncoder, "encode", lambda self, texts, **o: encoded.extend(texts) or real_encode(
        self, texts, **o))
    monkeypatch.setenv(CHUNK_ENV, "40")
    corpus = load_corpus(work / "corpus").documents
    report = rebuild(Settings(corpus_dir=work / "corpus", index_dir=work / "index"), progress=False)
    assert (report.resumed, report.embedded, report.resumed_sentences) == (120, 100, 0)
    assert "resumed 120 documents and 0 sentences embedded by an interrupted rebuild" in report.line(work / "index")
    documents = encoded[:100]  # then every summary's sentences
    assert sorted(documents) == sorted(d.embedding_text for d in corpus[120:])
    assert not (work / "index.work").exists()

    clean = tmp_path / "clean"
    rebuild(Settings(corpus_dir=clean / "corpus", index_dir=clean / "index"), progress=False)
    resumed, whole = Index.load(work / "index"), Index.load(clean / "index")
    np.testing.assert_array_equal(resumed.vectors, whole.vectors)
    np.testing.assert_array_equal(resumed.sentences.vectors, whole.sentences.vectors)
    assert [d.id for d in resumed.documents] == [d.id for d in whole.documents]


@pytest.mark.slow
def test_ctrl_c_keeps_the_saved_chunks_and_says_how_to_resume(work):
    old = Index.load(work / "index")
    write_synthetic(work / "corpus" / "synthetic.jsonl", 100)
    process = _start(work, **{CHUNK_ENV: "40", PAUSE_AFTER_CHUNK_ENV: "30"})
    seen = _read_until(process, rb"saved documents-000001\.json")
    process.send_signal(signal.SIGINT)
    stderr = (seen + process.communicate(timeout=60)[1]).decode()
    assert process.returncode == 130
    assert f"stopped: 40 of 100 documents embedded are kept in {work / 'index.work'}; run the rebuild again to " \
           "resume" in stderr and stderr.rstrip().endswith("error: interrupted")
    _assert_untouched(work, old)
    assert len(list((work / "index.work").glob("documents-*.json"))) == 1


@pytest.mark.slow
@pytest.mark.parametrize("command", ["rebuild", "serve"])
def test_sigterm_after_a_chunk_stops_at_once_keeps_the_index_and_the_next_run_resumes(work, command):
    """SIGTERM (a service manager's stop) to the rebuild, or to `python app.py` rebuilding before it serves:
    exit 143 within seconds after the same cleanup as Ctrl-C, the previous index served unchanged, no lock
    held, and the next rebuild embeds only what the stopped one had not saved."""
    old, version = Index.load(work / "index"), (work / "index").resolve()
    write_synthetic(work / "corpus" / "synthetic.jsonl", 100)
    argv = _command(work) if command == "rebuild" else [
        sys.executable, "app.py", "--port", str(free_port()), "--index", str(work / "index"),
        "--corpus", str(work / "corpus")]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=_env(**{CHUNK_ENV: "40", PAUSE_AFTER_CHUNK_ENV: "60"}))
    _read_until(process, rb"saved documents-000001\.json")
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    stderr = process.communicate(timeout=60)[1].decode()
    took = time.monotonic() - sent
    assert process.returncode == 143 and took < 5, (process.returncode, took, stderr)
    assert stderr.rstrip().endswith("error: stopped by SIGTERM") and "Traceback" not in stderr, stderr
    _assert_untouched(work, old)
    assert (work / "index").resolve() == version
    with open(work / "index.lock") as lock:  # released: taken at once by the next writer
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert [p.name for p in sorted((work / "index.work").iterdir())] == ["documents-000001.json",
                                                                         "documents-000001.npy"]

    result = run(work)
    assert result.returncode == 0, result.stderr
    assert "resuming: 40 of 100 documents already embedded" in result.stderr
    assert "resumed 40 documents and 0 sentences embedded by an interrupted rebuild" in result.stdout
    assert len(Index.load(work / "index")) == 120 and not (work / "index.work").exists()


@pytest.mark.slow
def test_files_a_rebuild_leaves_unchanged_are_hard_links_not_copies(work):
    def inodes() -> dict[str, int]:
        folder = (work / "index").resolve()
        files = [folder / name for name in (VECTORS, FAISS_INDEX, SENTENCES, "documents.sqlite")]
        files += list((folder / BM25).iterdir())
        return {str(f.relative_to(folder)): f.stat().st_ino for f in files}

    before = inodes()
    retyped = run(work, "--index-type", "HNSW32")
    assert retyped.returncode == 0, retyped.stderr
    assert "(linking unchanged bm25, collections.npy, date_spans.npy, documents.sqlite, sentence_offsets.npy, " \
           "sentences.npy, vectors.npy)" in retyped.stderr
    after = inodes()
    assert {name for name in before if after[name] == before[name]} == set(before) - {FAISS_INDEX}
    rescored = run(work, RAG_BM25_B="0.5")
    assert rescored.returncode == 0 and "building the FAISS" not in rescored.stderr  # the HNSW graph is kept
    last = inodes()
    assert {name for name in before if last[name] == after[name]} == {VECTORS, FAISS_INDEX, SENTENCES,
                                                                     "documents.sqlite"}
    index = Index.load(work / "index")
    assert index.manifest.index_type == "HNSW32" and index.keyword.params["b"] == 0.5 and len(index) == 20
    assert sorted(p.name for p in work.iterdir() if p.name.startswith("index")) == [
        "index", "index.lock", (work / "index").resolve().name]


def test_a_document_table_without_hashes_is_rewritten_not_linked(work):
    # An index from before manifest format 3: the hashes in manifest.json, none in documents.sqlite.
    import sqlite3

    from rag.index.manifest import document_hashes, read_manifest

    folder = (work / "index").resolve()
    manifest = json.loads((folder / MANIFEST).read_text())
    held = document_hashes(read_manifest(folder))
    manifest.update(format=2, documents=held)
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with sqlite3.connect(folder / "documents.sqlite") as connection:
        connection.execute("ALTER TABLE documents DROP COLUMN hash")
    result = run(work, RAG_BM25_B="0.5")  # the documents are unchanged: only BM25 is rebuilt
    assert result.returncode == 0, result.stderr
    assert "documents.sqlite" not in result.stderr.split("linking unchanged")[-1]
    rebuilt = read_manifest(work / "index")
    assert rebuilt.listed is None and document_hashes(rebuilt) == held
    assert "documents" not in json.loads((work / "index" / MANIFEST).read_text())


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.slow
def test_device_cuda_without_a_gpu_exits_5_with_one_line_and_changes_nothing(work):
    before = (work / "index" / MANIFEST).read_text()
    _edit(work, ANDROPOV, "Soviet Politburo member Yuri V. Andropov")
    result = run(work, "--device", "cuda")
    assert result.returncode == 5 and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error: device 'cuda' (--device or RAG_DEVICE) asks for a GPU, but torch sees "
                                    "no CUDA device")
    assert (work / "index" / MANIFEST).read_text() == before
    assert run(work, RAG_DEVICE="cuda:0").returncode == 5


def test_errors_are_one_line_with_their_exit_status(tmp_path):
    (tmp_path / "corpus").mkdir()
    empty = run(tmp_path)
    assert (empty.returncode, empty.stderr) == (3, f"error: corpus: {tmp_path / 'corpus'}: corpus folder holds "
                                                   "no .txt, .html, .mhtml or .jsonl files\n")
    missing = run(tmp_path, "--corpus", str(tmp_path / "nowhere"))
    assert missing.returncode == 3 and "corpus folder does not exist" in missing.stderr
    assert len(missing.stderr.splitlines()) == 1

    shutil.copy(ROOT / "corpus" / PAGE, tmp_path / "corpus")
    (tmp_path / "file").write_text("x")
    unwritable = run(tmp_path, "--out", str(tmp_path / "file" / "index"))
    assert unwritable.returncode == 6 and unwritable.stderr.startswith(f"error: {tmp_path}/file/index cannot be made: "
                                                                       f"{tmp_path}/file is not a folder")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_text("x")
    foreign = run(tmp_path, "--out", str(tmp_path / "photos"))
    assert foreign.returncode == 6 and "is a folder of other files" in foreign.stderr
    assert len(foreign.stderr.splitlines()) == 1 and (tmp_path / "photos" / "a.jpg").exists()


@pytest.mark.slow
def test_unloadable_model_exits_5_with_one_line(tmp_path):
    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    result = run(tmp_path, "--model", str(tmp_path / "no-model-here"))
    assert result.returncode == 5
    assert result.stderr.splitlines() == [f"error: cannot load embedding model '{tmp_path / 'no-model-here'}': not "
                                          "a local model folder, and not in the Hugging Face cache (downloads are "
                                          "off; set HF_HUB_OFFLINE=0 to allow them)"]
    assert not (tmp_path / "index").exists()


@pytest.mark.slow
def test_corrupt_index_is_not_overwritten_unless_full(work):
    vectors = work / "index" / VECTORS
    vectors.write_bytes(vectors.read_bytes()[:200])
    _edit(work, ANDROPOV, "Soviet Politburo member Yuri V. Andropov")
    damaged = vectors.read_bytes()
    result = run(work)
    assert result.returncode == 6 and len(result.stderr.splitlines()) == 1
    assert "is unreadable" in result.stderr and "--full" in result.stderr
    assert vectors.read_bytes() == damaged
    assert run(work, "--check").returncode == 1

    (work / "index" / MANIFEST).write_text("{broken")
    assert run(work, "--check").returncode == 4
    assert run(work, "--full", "--quiet").returncode == 0
    assert len(Index.load(work / "index")) == 20


@pytest.mark.slow
def test_bad_index_type_exits_6(work):
    result = run(work, "--index-type", "NoSuchThing99")
    assert result.returncode == 6 and "FAISS index type 'NoSuchThing99' cannot be built" in result.stderr
    assert Index.load(work / "index").manifest.index_type == "Flat"


# -------------------------------------------------------------------------------- what --out may name


def _tiny_corpus(folder: Path) -> Path:
    """Three short documents, cheap to embed."""
    folder.mkdir(parents=True)
    records = [{"date": f"196{i}", "date_text": f"196{i}", "title": f"Title {i}", "collection": "C",
                "summary": f"Summary number {i}."} for i in range(3)]
    (folder / "tiny.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return folder


@pytest.mark.parametrize("kind", FOREIGN)
@pytest.mark.parametrize("through", ["rebuild", "Retriever.load"])
def test_an_output_path_that_is_not_an_index_is_refused_and_left_as_it_was(through, kind, tmp_path):
    corpus = _tiny_corpus(tmp_path / "corpus")
    folder = tmp_path / "user"
    folder.mkdir()
    out = foreign_path(kind, folder)
    before = listing(folder)
    with pytest.raises(RebuildError) as refused:  # before the model is loaded: no encoder is needed
        if through == "rebuild":
            rebuild(Settings(corpus_dir=corpus, index_dir=out), progress=False)
        else:
            Retriever.load(out, corpus=corpus, rebuild=True)
    assert refused.value.exit_code == 6
    assert str(out) in refused.value.line() and "or remove it" in refused.value.line()
    assert listing(folder) == before  # no .lock, .v1, .tmp-*, .work/ or parent folder, nothing changed


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["absent, with its parents", "empty folder", "dangling versioned link"])
def test_a_new_index_is_written_where_nothing_would_be_lost(kind, tmp_path, encoder):
    out = tmp_path / "out"
    if kind == "absent, with its parents":
        out = tmp_path / "new" / "deeper" / "out"
    elif kind == "empty folder":
        out.mkdir()
    else:  # the link outlived its version (a crash): the rebuild starts afresh
        out.symlink_to("out.v3")
    report = rebuild(Settings(corpus_dir=_tiny_corpus(tmp_path / "corpus"), index_dir=out), encoder=encoder,
                     progress=False)
    assert report.full_reason == "no index yet" and len(Index.load(out)) == 3
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith("out")) == ["out", "out.lock", "out.v1"]
    assert os.readlink(out) == "out.v1"


@pytest.mark.slow
def test_a_plain_index_folder_is_adopted_and_a_versioned_one_rebuilt_in_place(built_index, tmp_path, encoder):
    plain = tmp_path / "plain"
    shutil.copytree(built_index.resolve(), plain)  # an index written before versions: files in a folder
    report = rebuild(Settings(corpus_dir=ROOT / "corpus", index_dir=plain), encoder=encoder, progress=False)
    assert report.up_to_date and plain.is_symlink() and len(Index.load(plain)) == 20

    versioned = tmp_path / "copy" / "index"
    shutil.copytree(built_index.parent, versioned.parent, symlinks=True)
    old = versioned.resolve()
    report = rebuild(Settings(corpus_dir=ROOT / "corpus", index_dir=versioned), encoder=encoder, full=True,
                     progress=False)
    assert report.full_reason == "--full" and versioned.resolve() != old and not old.exists()
    assert len(Index.load(versioned)) == 20
