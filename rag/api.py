"""The plain REST API served beside the chat: `GET /api/search?q=…` (or the same as a JSON `POST`) returns
what `Results.to_record()` gives — the understood date range, notes and the hits as records; `GET /api/answer?q=…`
(and POST) returns the chat's answer as data, `rag.chat.answer.Answer.to_record()`: the question searched
(after follow-up resolution when `topic`, the previous question's topic, is given), `answered`, the synthesis
and the cited documents numbered as on the page.

Why not Gradio's own `/search`: its queue protocol costs ~160 ms a call whatever the work (measured with a
trivial function), where a plain route costs about a millisecond. This module is where FastAPI enters; the
chat page (`app.py`) is mounted under the same server.

Parameters are declared models (`rag.api_models`), so `/openapi.json` states their types, enums and bounds, and
a request is checked before anything is searched: a wrong type, a value out of range, an unknown key, a body that
is not a JSON object, or a single-valued query parameter given twice (`?k=1&k=2`: FastAPI would take the last)
is HTTP 400 with `{"error": "<what to change>"}` naming the field. What only the retriever can judge (an unknown
collection, a range that ends before it starts) is a `RagError`, also 400. Anything else is a 500 with the same
body shape, logged; it is answered by the route itself, so the connection stays open (see `_GuardedRoute`).

No `from __future__ import annotations` here: FastAPI reads the route signatures' annotations at run time.
"""

import logging
from collections import Counter
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from rag.api_models import EXAMPLE_BODY, Q_MAX, AnswerRecord, ErrorBody, SearchRecord, api_models
from rag.errors import QueryError, RagError

if TYPE_CHECKING:
    from rag.chat.answer import Searcher

log = logging.getLogger(__name__)

#: The largest POST body read, in bytes: a question of Q_MAX characters and a list of collections fit many times.
MAX_BODY_BYTES = 64 * 1024
_UNEXPECTED = "the search failed unexpectedly; the error was logged on the server"
_TOO_LARGE = f"the body is larger than {MAX_BODY_BYTES} bytes; q is at most {Q_MAX} characters"


def _error(message: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    """`{"error": message}`, encodable whatever the message quotes (an unpaired surrogate becomes `\\ud800`)."""
    text = " ".join(message.split()).encode("utf-8", "backslashreplace").decode("utf-8")
    return JSONResponse({"error": text}, status_code=status, headers=headers)


class _GuardedRoute(APIRoute):
    """An API route that answers an unexpected exception itself, as a logged 500 `{"error": …}`.

    Why: an app-level handler for `Exception` runs in starlette's ServerErrorMiddleware, which sends the handler's
    response and then re-raises; uvicorn, seeing an exception after the response started, closes the connection,
    so the client's next request on that keep-alive connection was reset. Answered here, nothing propagates.
    HTTP, validation and `RagError` exceptions go on to their handlers, which answer without re-raising.
    """

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def guarded(request: Request):
            try:
                return await handler(request)
            except (HTTPException, RequestValidationError, RagError):
                raise
            except Exception as exc:
                log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
                return _error(_UNEXPECTED, 500)

        return guarded


def _query_string_rules(single: set[str]):
    """A dependency that refuses what FastAPI would pass over: a single-valued parameter given twice (it takes the
    last), and query parameters on a POST (which reads only its JSON body)."""

    def check(request: Request) -> None:
        if request.method == "POST":
            if request.query_params:
                names = ", ".join(dict.fromkeys(request.query_params.keys()))
                raise QueryError(f"a POST takes its parameters in the JSON body, not the query string: move {names} "
                                 "into the body (or send a GET)")
            return
        counts = Counter(name for name, _ in request.query_params.multi_items() if name in single)
        repeated = [f"{name} ({count} times)" for name, count in counts.items() if count > 1]
        if repeated:
            raise QueryError(f"repeated parameter{'s' if len(repeated) > 1 else ''} {', '.join(repeated)}: give each "
                             "once (only collection may repeat)")

    return check


class _BodyLimit:
    """ASGI middleware: a request body to the API over `limit` bytes is a 413 `{"error": …}`, read no further.

    Not FastAPI's `max_body_size`: when the declared Content-Length is over the limit, its middleware replaces
    whatever the app answers with a plain-text 413, a body shape no other error of this API has."""

    def __init__(self, app, paths: set[str], limit: int = MAX_BODY_BYTES):
        self.app, self.paths, self.limit = app, paths, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("path") not in self.paths:
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            return await _error(_TOO_LARGE, 413)(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:  # a chunked body: the route's exception handler answers
                raise HTTPException(413, _TOO_LARGE)
            return message

        await self.app(scope, limited, send)


def search_record(searcher: "Searcher", params: Any) -> dict:
    """One checked search as the JSON the API returns.

    Args:
        searcher: the retriever.
        params: a `SearchQuery` or `SearchBody` of `rag.api_models`.

    Returns:
        `Results.to_record()`; raises RagError (→ 400) for what only the retriever can judge.
    """
    return searcher.search(params.q, **params.options()).to_record()


def answer_record(searcher: "Searcher", params: Any) -> dict:
    """One checked answer as the JSON the API returns.

    Args:
        searcher: the retriever.
        params: an `AnswerQuery` or `AnswerBody` of `rag.api_models`.

    Returns:
        `Answer.to_record()`; raises RagError (→ 400) for what only the retriever can judge.
    """
    from rag.chat.answer import answer

    return answer(searcher, params.q, params.topic, **params.options()).to_record()


def _responses(record: type) -> dict:
    """The answers a route documents: the record, and `{"error": …}` for a bad request, a too large body and a
    failure (FastAPI's default 422 never happens here: `_without_422` drops it)."""
    return {200: {"model": record}, 400: {"model": ErrorBody, "description": "a bad parameter: what to change"},
            413: {"model": ErrorBody, "description": f"a POST body over {MAX_BODY_BYTES} bytes"},
            500: {"model": ErrorBody, "description": "an unexpected failure, logged on the server"}}


def _without_422(api: FastAPI) -> None:
    """Make `/openapi.json` state the 400 the API answers instead of the 422 FastAPI lists for every route."""
    build = api.openapi

    def openapi() -> dict:
        if api.openapi_schema is None:
            schema = build()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
        return api.openapi_schema

    api.openapi = openapi


def create_api(searcher: "Searcher", *, max_k: int) -> FastAPI:
    """A FastAPI app with `/api/search` and `/api/answer` (GET and POST), described at `/openapi.json` and `/docs`.

    Args:
        searcher: the retriever every route searches.
        max_k: the largest k a request may ask for (`Settings.max_k`, passed down by the entry point).

    Returns:
        The app; `app.serve` mounts the chat page under it.
    """
    models = api_models(max_k)
    api = FastAPI(title="Cold War archive assistant", docs_url="/docs", redoc_url=None,
                  description="Search the Wilson Center Digital Archive summaries. The same results as the chat, the "
                              "CLI and `rag.Retriever.search`, as JSON. A bad parameter is HTTP 400 with "
                              '`{"error": "<what to change>"}`; single-valued query parameters may appear once.')
    checked_by = {("GET", "/api/search"): models.search_query, ("POST", "/api/search"): models.search_body,
                  ("GET", "/api/answer"): models.answer_query, ("POST", "/api/answer"): models.answer_body}

    @api.exception_handler(RagError)
    async def bad_parameter(request: Request, exc: RagError) -> JSONResponse:
        return _error(exc.line(), 400)

    @api.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(models.describe(exc.errors(), checked_by.get((request.method, request.url.path))), 400)

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        # FastAPI's one 400 of its own: a JSON body that is not even text ("There was an error parsing the body").
        message = (f"the body is not valid JSON (not UTF-8 text): send an object such as {EXAMPLE_BODY}"
                   if exc.status_code == 400 else str(exc.detail))
        return _error(message, exc.status_code, getattr(exc, "headers", None))

    def router(single: set[str]) -> APIRouter:
        return APIRouter(route_class=_GuardedRoute, dependencies=[Depends(_query_string_rules(single))])

    searching, answering = router(models.single_valued(models.search_query)), router(
        models.single_valued(models.answer_query))
    search_responses, answer_responses = _responses(SearchRecord), _responses(AnswerRecord)

    @searching.get("/api/search", tags=["search"], summary="Search the archive", response_model=None,
                   responses=search_responses)
    def search_get(params: Annotated[models.search_query, Query()]) -> dict:
        """The documents that answer `q`, with the understood date range and notes."""
        return search_record(searcher, params)

    @searching.post("/api/search", tags=["search"], summary="Search the archive (JSON body)", response_model=None,
                    responses=search_responses)
    def search_post(params: Annotated[models.search_body, Body(examples=[{"q": "Romania mediation", "k": 5}])]) -> dict:
        """The same as GET, with the parameters as a JSON object (`collections` a list)."""
        return search_record(searcher, params)

    @answering.get("/api/answer", tags=["answer"], summary="Answer a question: synthesis and cited documents",
                   response_model=None, responses=answer_responses)
    def answer_get(params: Annotated[models.answer_query, Query()]) -> dict:
        """The chat's answer to `q` as data: what was searched and understood, `answered`, the quoted
        sentences with their citation numbers, and the cited documents."""
        return answer_record(searcher, params)

    @answering.post("/api/answer", tags=["answer"], summary="Answer a question (JSON body)", response_model=None,
                    responses=answer_responses)
    def answer_post(params: Annotated[models.answer_body, Body(examples=[{"q": "what about 1964?",
                                                                        "topic": "Romania mediation"}])]) -> dict:
        """The same as GET, with the parameters as a JSON object (`collections` a list)."""
        return answer_record(searcher, params)

    api.include_router(searching)
    api.include_router(answering)
    api.add_middleware(_BodyLimit, paths={"/api/search", "/api/answer"})
    _without_422(api)
    return api
