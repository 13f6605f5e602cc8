"""The plain REST API served beside the chat: `GET /api/search?q=…` (or the same as a JSON `POST`) returns
what `Results.to_record()` gives — the understood date range, notes and the hits as records; `GET /api/answer?q=…`
(and POST) returns the chat's answer as data, `rag.chat.answer.Answer.to_record()`: the question searched
(after follow-up resolution when `topic`, the previous question's topic, is given), `answered`, the synthesis
and the cited documents numbered as on the page.

Why not Gradio's own `/search`: its queue protocol costs ~160 ms a call whatever the work (measured with a
trivial function), where a plain route costs about a millisecond. This module is where FastAPI enters; the
chat page (`app.py`) is mounted under the same server. Parameters are checked by the retriever itself, so the
API, the CLI and Python give the same errors; a bad one is HTTP 400 with `{"error": "<what to change>"}`.

No `from __future__ import annotations` here: FastAPI reads the route signatures' annotations at run time.
"""

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Query

from rag.errors import QueryError, RagError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from rag.chat.answer import Searcher

log = logging.getLogger(__name__)

DEFAULT_K = 10  # hits when the caller gives no k, as in the chat and the CLI
_WHOLE = re.compile(r"\s*[+-]?\d+\s*")

_PARAMETERS = {
    "q": "the question, in plain words; a date phrase in it ('in late 1963') becomes a date filter",
    "k": f"how many hits (default {DEFAULT_K})",
    "date_from": "earliest date, YYYY, YYYY-MM or YYYY-MM-DD (replaces dates read from the question)",
    "date_to": "latest date, inclusive to the end of its period",
    "sort": "relevance (default) or date",
    "mode": "hybrid (default), semantic or keyword",
    "collections": "limit to these collections (repeat `collection=` in a GET; a list in a POST); default all",
}
_ANSWER_PARAMETERS = {
    **_PARAMETERS,
    "topic": "the previous question's topic (its `query`): a follow-up such as 'what about 1964?' builds on it",
}


def _k_from_query(value: str | None) -> int | str:
    """A query-string k as a whole number; anything else is passed on for the retriever to reject."""
    if value is None or value == "":
        return DEFAULT_K
    return int(value) if _WHOLE.fullmatch(value) else value


@dataclass
class SearchQuery:
    """The search parameters of a GET request, shared by `/api/search` and `/api/answer` (FastAPI reads
    them from the query string and lists them on `/docs`)."""

    q: Annotated[str, Query(description=_PARAMETERS["q"])] = ""
    k: Annotated[str | None, Query(description=_PARAMETERS["k"])] = None
    date_from: Annotated[str | None, Query(description=_PARAMETERS["date_from"])] = None
    date_to: Annotated[str | None, Query(description=_PARAMETERS["date_to"])] = None
    sort: Annotated[str, Query(description=_PARAMETERS["sort"])] = "relevance"
    mode: Annotated[str, Query(description=_PARAMETERS["mode"])] = "hybrid"
    collection: Annotated[list[str] | None, Query(description=_PARAMETERS["collections"])] = None

    def options(self) -> tuple:
        """k, date_from, date_to, sort, mode, collections: in the order search_record and answer_record take."""
        return _k_from_query(self.k), self.date_from, self.date_to, self.sort, self.mode, self.collection


def _body_options(body: dict[str, Any], allowed: dict[str, str]) -> tuple:
    """k, date_from, date_to, sort, mode, collections from a JSON body; an unknown key is a QueryError."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise QueryError(f"unknown parameter {', '.join(unknown)}; valid: {', '.join(allowed)}")
    return (body.get("k", DEFAULT_K), body.get("date_from"), body.get("date_to"), body.get("sort"), body.get("mode"),
            body.get("collections"))


def search_record(searcher: "Searcher", q: Any, k: Any = DEFAULT_K, date_from: Any = None, date_to: Any = None,
                  sort: Any = "relevance", mode: Any = "hybrid", collections: Any = None) -> dict:
    """One search as the JSON the API returns; raises RagError (→ 400) for a bad parameter."""
    if not isinstance(q, str) or not q.strip():
        raise QueryError("q is empty: pass the question as ?q=..., e.g. ?q=Zhou+Enlai+test+ban")
    date_from = date_from or None  # an empty form field means "no bound"
    date_to = date_to or None
    return searcher.search(q, k=k, date_from=date_from, date_to=date_to, sort=sort or "relevance",
                           mode=mode or "hybrid", **_collections(collections)).to_record()


def _collections(collections: Any) -> dict:
    """The collections option, passed on only when given (the retriever checks the names)."""
    return {"collections": collections} if collections else {}


def answer_record(searcher: "Searcher", q: Any, topic: Any = None, k: Any = DEFAULT_K, date_from: Any = None,
                  date_to: Any = None, sort: Any = "relevance", mode: Any = "hybrid", collections: Any = None) -> dict:
    """One answer as the JSON the API returns; raises RagError (→ 400) for a bad parameter."""
    from rag.chat.answer import answer

    if not isinstance(q, str) or not q.strip():
        raise QueryError("q is empty: pass the question as ?q=..., e.g. ?q=Zhou+Enlai+test+ban")
    if topic is not None and not isinstance(topic, str):
        raise QueryError(f"topic must be text (the previous answer's query), got {topic!r}")
    return answer(searcher, q, topic, k=k, date_from=date_from or None, date_to=date_to or None,
                  sort=sort or "relevance", mode=mode or "hybrid", **_collections(collections)).to_record()


def create_api(searcher: "Searcher") -> "FastAPI":
    """A FastAPI app with `/api/search` (GET and POST); its docs page at `/docs` lists the routes."""
    from fastapi import Body, Depends, FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    api = FastAPI(title="Cold War archive assistant", docs_url="/docs", redoc_url=None,
                  description="Search the Wilson Center Digital Archive summaries. The same results as the "
                              "chat, the CLI and `rag.Retriever.search`, as JSON.")

    @api.exception_handler(RagError)
    async def bad_parameter(request: Request, exc: RagError) -> JSONResponse:
        return JSONResponse({"error": exc.line()}, status_code=400)

    @api.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'body'}: {e.get('msg')}"
                             for e in exc.errors())
        return JSONResponse({"error": problems or "malformed request"}, status_code=400)

    @api.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": "the search failed unexpectedly; the error was logged on the server"},
                            status_code=500)

    @api.get("/api/search", tags=["search"], summary="Search the archive")
    def search_get(query: Annotated[SearchQuery, Depends()]) -> dict:
        """The documents that answer `q`, with the understood date range and notes."""
        return search_record(searcher, query.q, *query.options())

    @api.post("/api/search", tags=["search"], summary="Search the archive (JSON body)")
    def search_post(body: Annotated[dict[str, Any], Body(examples=[{"q": "Romania mediation", "k": 5}])]) -> dict:
        """The same as GET, with the parameters as a JSON object."""
        return search_record(searcher, body.get("q"), *_body_options(body, _PARAMETERS))

    @api.get("/api/answer", tags=["answer"], summary="Answer a question: synthesis and cited documents")
    def answer_get(query: Annotated[SearchQuery, Depends()],
                   topic: Annotated[str | None, Query(description=_ANSWER_PARAMETERS["topic"])] = None) -> dict:
        """The chat's answer to `q` as data: what was searched and understood, `answered`, the quoted
        sentences with their citation numbers, and the cited documents."""
        return answer_record(searcher, query.q, topic, *query.options())

    @api.post("/api/answer", tags=["answer"], summary="Answer a question (JSON body)")
    def answer_post(body: Annotated[dict[str, Any], Body(examples=[{"q": "what about 1964?",
                                                                    "topic": "Romania mediation"}])]) -> dict:
        """The same as GET, with the parameters as a JSON object."""
        return answer_record(searcher, body.get("q"), body.get("topic"), *_body_options(body, _ANSWER_PARAMETERS))

    return api
