"""The chat: a Gradio page that answers questions with cited archive documents in date order.

`python app.py [--host H] [--port P] [--index DIR] [--corpus DIR] [--model M]` serves it on
http://127.0.0.1:7860 by default, building the index first when there is none. `build_app(retriever,
settings)` assembles the page around any object with the retriever's `search()`, so tests can inject one.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

# Before gradio is imported anywhere: no telemetry, no version check, nothing leaves the machine.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from rag.chat.answer import Searcher  # noqa: E402
from rag.chat.export import citations_text, write_exports  # noqa: E402
from rag.chat.page_assets import PAGE_CSS, PAGE_HEAD  # noqa: E402
from rag.chat.session import EXAMPLES, Chat, Collection  # noqa: E402
from rag.chat.timeline import timeline_html  # noqa: E402
from rag.chat.uploads import UPLOAD_TYPES, add_uploaded, uploads_offered  # noqa: E402
from rag.commands import Command  # noqa: E402
from rag.documents.adding import MAX_FILE_BYTES  # noqa: E402
from rag.errors import CommandParser, RagError, run_command  # noqa: E402
from rag.search.params import Mode, SortOrder  # noqa: E402
from rag.search.question import empty_question  # noqa: E402
from rag.settings import Settings  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

    import gradio as gr
    from fastapi import FastAPI

    from rag.serve import Server


log = logging.getLogger("app")

SERVE_USAGE = """Serve the archive chat on http://127.0.0.1:7860 (loopback only unless --host 0.0.0.0), building the
index first when there is none; the REST API is at /api/answer and /api/search (docs at /docs). The terminal shows
one line per start, the rebuild's progress and warnings or errors; --verbose shows the rest. Ctrl-C or SIGTERM
stops it within 5 s (requests in flight finish), saying `stopped`, with exit status 0.

    python app.py [--host H] [--port P] [--index DIR] [--corpus DIR] [--model M] [--verbose]
    coldwar-rag serve ...                (the same flags)
"""


def responder(chat: Chat, exports: Path) -> Callable[..., tuple]:
    """The question box's submit handler over `chat`, writing each answer's citation files under `exports`.

    `respond(message, history, topic, date_from, date_to, k, order, mode)` returns the page's new
    (history, topic, timeline, citations, txt file, csv file, question box); when nothing was searched
    (empty question, bad filter) the timeline, citations and files are left as they were (`gr.skip()`).
    """
    import gradio as gr

    def respond(message, history, topic, date_from, date_to, k, order, mode, collections=None):
        history = list(history or [])
        reply = chat.reply(message, topic, date_from, date_to, k, order, mode, turn=len(history),
                           collections=collections)
        if reply.shown_question is not None:
            history.append({"role": "user", "content": reply.shown_question})
        history.append({"role": "assistant", "content": reply.answer})
        if reply.results is None:
            return history, reply.topic, gr.skip(), gr.skip(), gr.skip(), gr.skip(), ""
        accessed = datetime.date.today()  # the notes' access date: one day for the copy box and both files
        txt, csv = write_exports(reply.results, exports, accessed)
        timeline = timeline_html(reply.data, reply.anchor)
        return history, reply.topic, timeline, citations_text(reply.results, accessed), str(txt), str(csv), ""

    return respond


def build_app(retriever: Searcher, settings: Settings) -> gr.Blocks:
    """The whole page: chat, controls, timeline, exports, and the `/search` HTTP API."""
    import gradio as gr

    collection = Collection.from_corpus(settings.corpus_dir)
    chat = Chat(retriever, collection.size, settings)
    exports = Path(tempfile.mkdtemp(prefix="rag-exports-"))

    respond = responder(chat, exports)

    def search(question: str, k: int = settings.chat_k, date_from: str = "", date_to: str = "",
               sort: str = "relevance", mode: str = "hybrid", collections: list[str] | None = None) -> list[dict]:
        """Search the archive (within `collections`, default all); returns the hits as JSON records (title,
        date, date_text, summary, url, score, citation, ...), best first unless sort="date". A bad input is an error
        whose message is one line."""
        try:
            if not isinstance(question, str) or not question.strip():
                raise empty_question("question", "pass the words to search for as the first argument")
            hits = chat.search(question.strip(), k, date_from, date_to, sort, mode, collections)
            return [hit.to_record() for hit in hits]
        except RagError as exc:
            raise gr.Error(exc.line()) from None
        except ValueError as exc:
            raise gr.Error(" ".join(str(exc).split())) from None

    with gr.Blocks(title="Cold War archive assistant", analytics_enabled=False) as demo:
        topic = gr.State(None)
        header = gr.Markdown(collection.header(), elem_id="header")
        with gr.Row():
            with gr.Column(scale=3):
                # autoscroll off: PAGE_HEAD's script scrolls a new answer's first line to the top instead.
                chatbot = gr.Chatbot(label="Answers", show_label=False, elem_id="chat", height=560, sanitize_html=True,
                                     latex_delimiters=[], buttons=["copy", "copy_all"], render_markdown=True,
                                     autoscroll=False)
                question = gr.Textbox(label="Your question", elem_id="question", submit_btn="Ask",
                                      placeholder="e.g. What did Zhou Enlai say about the test ban treaty?")
                gr.Examples(list(EXAMPLES), inputs=question, label="Example questions")
            with gr.Column(scale=1, min_width=240):
                gr.Markdown("### Filters")
                date_from = gr.Textbox(label="From date", placeholder="YYYY, YYYY-MM or YYYY-MM-DD",
                                       elem_id="date-from", info="Leave empty for no lower bound")
                date_to = gr.Textbox(label="To date", placeholder="YYYY, YYYY-MM or YYYY-MM-DD",
                                     elem_id="date-to", info="A date in the question (“in 1964”) also works")
                k = gr.Slider(1, settings.chat_max_k, value=settings.chat_k, step=1, label="Number of results",
                              elem_id="k")
                order = gr.Radio([o.value for o in SortOrder], value=SortOrder.DATE.value,
                                 label="List documents by", elem_id="order")
                mode = gr.Radio([m.value for m in Mode], value=Mode.HYBRID.value, label="Search mode", elem_id="mode",
                                info="hybrid: meaning + words; semantic: meaning; keyword: exact words")
                collections = gr.CheckboxGroup(collection.choices(), label="Collections", elem_id="collections",
                                               info="None ticked: all", visible=len(collection.names) > 1)
                clear = gr.Button("New conversation", variant="secondary")
        timeline = gr.HTML(timeline_html(None), elem_id="timeline", js_on_load=None)
        with gr.Row():
            copy = gr.Textbox(label="Citations (numbered by date) — copy", lines=4, max_lines=12,
                              elem_id="citations", buttons=["copy"], interactive=False)
            with gr.Column(scale=0, min_width=220):
                txt = gr.DownloadButton("Download citations (.txt)", elem_id="download-txt")
                csv = gr.DownloadButton("Download citations (.csv)", elem_id="download-csv")

        inputs = [question, chatbot, topic, date_from, date_to, k, order, mode, collections]
        outputs = [chatbot, topic, timeline, copy, txt, csv, question]
        question.submit(respond, inputs, outputs, api_visibility="private")
        clear.click(lambda: ([], None, timeline_html(None), "", None, None), None,
                    [chatbot, topic, timeline, copy, txt, csv], api_visibility="private")
        if uploads_offered(settings):
            add_pages_panel(settings, chat, header, collections)
        gr.api(search, api_name="search")
    demo.queue(default_concurrency_limit=settings.concurrency)
    return demo


def add_pages_panel(settings: Settings, chat: Chat, header: gr.Markdown, collections: gr.CheckboxGroup) -> None:
    """The "Add pages" panel (`rag.chat.uploads`): saved pages copied into the corpus and indexed; then the header,
    the collection filter and the answers' "n of N" describe the corpus as it now is."""
    import gradio as gr

    def add(files):
        outcome = add_uploaded(files, settings)
        if outcome.collection is None:
            return outcome.report, gr.skip(), gr.skip(), None
        chat.collection_size = outcome.collection.size
        names = outcome.collection.names
        return (outcome.report, outcome.collection.header(),
                gr.update(choices=outcome.collection.choices(), visible=len(names) > 1), None)

    with gr.Accordion("Add pages", open=False, elem_id="add-pages"):
        gr.Markdown("Saved pages of the archive (listing or search-result pages as text, web pages saved as .html or "
                    f".mhtml, or .jsonl records; at most {MAX_FILE_BYTES // 2**20} MB each) are checked, copied into "
                    "the corpus and indexed. A page that cannot be read is refused with its line, and nothing is "
                    "copied.")
        files = gr.File(file_count="multiple", file_types=list(UPLOAD_TYPES), label="Saved pages",
                        elem_id="add-files")
        button = gr.Button("Add to the corpus", elem_id="add-button")
        report = gr.Markdown(elem_id="add-report")
    button.click(add, files, [report, header, collections, files], api_visibility="private",
                 concurrency_limit=1)


@dataclass
class Served:
    """A running server: its URL and how to stop it."""

    url: str
    server: Server
    thread: threading.Thread | None = None

    def close(self) -> None:
        """Stop as a signal would (requests in flight finish, streams end; `rag.serve.STOP_SECONDS` at most)."""
        from rag.serve import STOP_SECONDS

        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=STOP_SECONDS + 1)


def serve(retriever: Searcher, settings: Settings, *, block: bool = True, verbose: bool = False) -> Served:
    """The chat page at `/` and the REST API at `/api/…` (docs at `/docs`) on one uvicorn server at
    settings.host:settings.port, never shared publicly. The theme uses system fonts only, so the page loads
    nothing from the internet (the default theme fetches Google Fonts).

    Args:
        retriever: what the page and the API search.
        settings: host, port, corpus folder and the chat's settings.
        block: serve in this thread until SIGTERM or SIGINT, then stop gracefully and print `stopped (SIGTERM)`
            (the process ends within `rag.serve.STOP_SECONDS`); False: serve in a thread and return once it
            accepts connections (`Served.close()` stops it).
        verbose: log each request and the libraries' INFO lines.

    Returns:
        The server, stopped when `block`.
    """
    import gradio as gr

    from rag.api import create_api
    from rag.serve import Server, config, serve_until_stopped

    api = create_api(retriever, max_k=settings.max_k)
    theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    gr.mount_gradio_app(api, build_app(retriever, settings), path="/", theme=theme, footer_links=["api"],
                        server_name=settings.host, server_port=settings.port, head=PAGE_HEAD, css=PAGE_CSS,
                        max_file_size=MAX_FILE_BYTES)
    server = Server(config(api, settings.host, settings.port, verbose=verbose), on_stop=[heartbeats_ender(api)])
    served = Served(f"http://{settings.host}:{settings.port}/", server)
    if block:
        print(f"Serving the archive chat and its REST API (/api/answer, /api/search) on {served.url}", flush=True)
        stopped_by = serve_until_stopped(server)
        if stopped_by is not None:
            print(f"stopped ({stopped_by.name})", flush=True)
        return served
    served.thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    served.thread.start()
    while not server.started:
        if not served.thread.is_alive():
            raise OSError(f"the server could not start on {settings.host}:{settings.port} (port in use?)")
        time.sleep(0.02)
    return served


def heartbeats_ender(api: FastAPI) -> Callable[[], None]:
    """What ends the heartbeat streams of the Gradio app mounted in `api` at a stop: every open page and
    gradio_client keeps one open, and Gradio ends them when its App's `stop_event` is set (as its own
    launch() does at a stop). Called in the server's event loop, where that asyncio event lives.

    Args:
        api: the FastAPI app the chat is mounted in.

    Returns:
        A function of no arguments (a no-op if this Gradio has no such event: the grace's end closes them).
    """
    import gradio as gr

    mounted = [route.app for route in api.routes if isinstance(getattr(route, "app", None), gr.routes.App)]
    events = [event for event in (getattr(app, "stop_event", None) for app in mounted) if event is not None]

    def end_heartbeats() -> None:
        for event in events:
            event.set()

    return end_heartbeats


def load_retriever(settings: Settings, corpus: Path | None = None, model: str | None = None) -> Searcher:
    """The retriever over settings.index_dir, rebuilt in this process first when it is missing or stale
    (said in the terminal). `corpus` and `model` are the --corpus and --model flags: None means the corpus
    and model the index was built from, as its manifest records (`RAG_MODEL` still chooses a model), so an
    index is never rebuilt from a corpus or with a model it was not asked for."""
    from rag import Retriever
    from rag.search.refreshing import Refreshing

    # Serve each rebuild without a restart: one swapped into the index folder (by `coldwar-rag rebuild`, or the
    # page's "Add pages"), or committed to the database by another process.
    if not settings.backend:
        return Refreshing(Retriever.load(settings.index_dir, corpus=corpus, model=model, rebuild=True))
    return Refreshing(Retriever.load(corpus=corpus, model=model, rebuild=True, backend=settings.backend))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The serve flags, shared by `python app.py` and `coldwar-rag serve`."""
    parser.add_argument("--host", help="interface to listen on (default: $RAG_HOST or 127.0.0.1; 0.0.0.0 makes it "
                                       "public)")
    parser.add_argument("--port", type=int, help="port (default: $RAG_PORT or 7860)")
    parser.add_argument("--index", help="index folder (default: $RAG_INDEX_DIR or embeddings/index/); built first "
                                        "when missing (into an absent path or empty folder only)")
    parser.add_argument("--corpus", help="corpus folder (default: $RAG_CORPUS_DIR or corpus/)")
    parser.add_argument("--backend", metavar="URL",
                        help="serve the index in this PostgreSQL database (postgresql://user@host:port/db), filled "
                             "by `coldwar-rag rebuild --backend URL` (default: $RAG_BACKEND; empty: the index folder); "
                             "a rebuild into it is served without restart")
    parser.add_argument("--model", help="embedding model used when the index has to be built (default: $RAG_MODEL "
                                        "or the bundled all-MiniLM-L6-v2)")
    parser.add_argument("--verbose", action="store_true",
                        help="also print libraries' INFO logs, each request and their deprecation warnings "
                             "(default: one line per start, warnings and errors)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = CommandParser(prog="python app.py", description=SERVE_USAGE)
    add_arguments(parser)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    """Load (or first build) the index, then serve the chat until interrupted; raises RagError."""
    settings = Settings.from_env(host=args.host, port=args.port, index_dir=args.index,
                                 corpus_dir=args.corpus, model=args.model, backend=args.backend)
    quiet_terminal(args.verbose)
    retriever = load_retriever(settings, corpus=args.corpus, model=args.model)
    if retriever.corpus_dir is not None:  # the corpus the index was checked against: the page describes it
        settings = replace(settings, corpus_dir=retriever.corpus_dir)
    serve(retriever, settings, verbose=args.verbose)
    return 0


#: `coldwar-rag serve`, registered in pyproject.toml's entry points (group coldwar_rag.commands).
command = Command(help="serve the chat in the browser (Gradio)", description=SERVE_USAGE, add_arguments=add_arguments,
                  run=run, order=50)


def quiet_terminal(verbose: bool) -> None:
    """Warnings and errors only (FAISS's loader, bm25s, httpx and Gradio log INFO/DEBUG lines, pandas warns of
    deprecations inside Gradio's plots); with `verbose`, INFO logs and those warnings too."""
    import warnings

    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    for handler in logging.getLogger().handlers:  # bm25s sets its own logger to DEBUG when imported
        handler.setLevel(level)
    if not verbose:
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", module=r"gradio(\.|$)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
