"""The REST API's parameters and records as pydantic models: what a request is checked against before anything is
searched, and what `/openapi.json` says about it (types, enums, bounds, the date pattern).

A JSON body is read strictly: `"k": "5"`, `"k": true` or `"mode": 0` is an error, not a guess (`"k": 5.0` is the
JSON number 5). A query string is text, so `?k=5` is the number 5 there. Unknown keys are errors in both.
`describe` turns pydantic's errors into the one line the API answers with, naming each field and what it must be.
No FastAPI here: `rag.api` serves these.
The request models are built by `api_models(max_k)`, since k's bound is the retriever's setting.
"""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, create_model, field_validator

from rag.search.params import Mode, SortOrder, parse_date_param
from rag.search.question import empty_question
from rag.settings import DEFAULT_K

#: The longest question (and topic) the API takes, in characters; no real question comes near it.
Q_MAX = 1000
#: YYYY, YYYY-MM or YYYY-MM-DD, or empty (an empty form field: no bound). The date parser checks the rest (1963-13).
DATE_PATTERN = r"^([0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?)?$"
_WHOLE = re.compile(r"\s*[+-]?[0-9]+\s*")  # a whole number as a query string writes it (no 5_0, no 2.5)
_EMPTY_Q = str(empty_question(
    "q", 'pass the question as ?q=..., e.g. ?q=Zhou+Enlai+test+ban (in a POST body: {"q": "..."})'))
#: The body an error about the body shows as the example to follow.
EXAMPLE_BODY = '{"q": "Romania mediation", "k": 5}'

DESCRIPTIONS = {
    "q": f"the question, in plain words (at most {Q_MAX} characters); a date phrase in it ('in late 1963') becomes "
         "a date filter",
    "k": f"how many hits (default {DEFAULT_K})",
    "date_from": "earliest date, YYYY, YYYY-MM or YYYY-MM-DD (replaces dates read from the question); empty or "
                 "absent: no bound",
    "date_to": "latest date, inclusive to the end of its period; empty or absent: no bound",
    "sort": "relevance (default) or date",
    "mode": "hybrid (default), semantic or keyword",
    "collections": "limit to these collections (a list of names; the name without its dates will do); default all",
    "collection": "limit to this collection (repeat `collection=` for several); default all",
    "topic": "the previous question's topic (its `query`): a follow-up such as 'what about 1964?' builds on it",
}


def _unicode(value: Any) -> Any:
    """Text that can be encoded: a JSON body can carry an unpaired surrogate (`"\\ud800"`), which nothing can use."""
    try:
        isinstance(value, str) and value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("an unpaired surrogate") from None
    return value


def _whole_text(value: Any) -> Any:
    """A query string's k as a number when it is written as one (`5`, ` +5 `), not `5_0`, `2.5` or `٥`, which
    Python's `int()` and pydantic's lax mode would read or half-read."""
    if isinstance(value, str):
        if not _WHOLE.fullmatch(value):
            raise ValueError("not a whole number")
        return int(value)
    return value


def _whole_json(value: Any) -> Any:
    """A JSON body's k: 5.0 is the number 5 (JSON has one number type; JSON Schema's "integer" includes 5.0), 2.5
    is no whole number; "5" and true stay errors for the strict model."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _exactly(choice: type[StrEnum]):
    """A validator that takes only the enum's own values as written in the schema (the Python API's `Mode("KEYWORD")`
    reads any case; the REST API states lowercase values and holds to them)."""
    values = tuple(member.value for member in choice)

    def check(value: Any) -> Any:
        if isinstance(value, str) and value in values:
            return choice(value)  # the member itself, which a strict (JSON body) model takes
        raise ValueError(f"not one of {', '.join(values)}")

    return check


def _checked_date(cls, value: str | None, info) -> str | None:
    """The project's date parser on top of the pattern: 1963-13 fits YYYY-MM but is no month."""
    return parse_date_param(value, info.field_name)


# Constraints before validators: pydantic states only those in the JSON schema (and runs the validators first).
_UNICODE = BeforeValidator(_unicode)
_Text = Annotated[str, _UNICODE]
_Question = Annotated[str, StringConstraints(min_length=1, max_length=Q_MAX, pattern=r"\S"), _UNICODE]
_Topic = Annotated[str, StringConstraints(max_length=Q_MAX), _UNICODE]
_Date = Annotated[str, StringConstraints(pattern=DATE_PATTERN)]


class _Params(BaseModel):
    """What both the query-string and the JSON-body models give the route: the options `Searcher.search` takes."""

    def options(self) -> dict[str, Any]:
        """k, date_from, date_to, sort and mode, and collections when any were named.

        Returns:
            Keyword arguments for `Searcher.search` (and `rag.chat.answer.answer`).
        """
        named = {"collections": self.collections} if self.collections else {}
        return {"k": self.k, "date_from": self.date_from, "date_to": self.date_to, "sort": self.sort,
                "mode": self.mode, **named}


class _QueryParams(_Params):
    model_config = ConfigDict(extra="forbid")


class _BodyParams(_Params):
    model_config = ConfigDict(extra="forbid", strict=True)


def _search_fields(max_k: int, *, in_query: bool) -> dict[str, Any]:
    """The search parameters' types and defaults, for a query string (text, `collection` repeated, an empty date
    for none) or a JSON body (null or an empty date for none)."""
    k_read = BeforeValidator(_whole_text if in_query else _whole_json)
    date, no_date = (_Date, "") if in_query else (_Date | None, None)

    def enum(kind: type[StrEnum], name: str) -> Any:
        return Annotated[kind, BeforeValidator(_exactly(kind)), Field(description=DESCRIPTIONS[name])]

    collection = "collection" if in_query else "collections"
    return {
        "q": (_Question, Field(description=DESCRIPTIONS["q"])),
        "k": (Annotated[int, Field(ge=1, le=max_k), k_read], Field(DEFAULT_K, description=DESCRIPTIONS["k"])),
        "date_from": (date, Field(no_date, description=DESCRIPTIONS["date_from"])),
        "date_to": (date, Field(no_date, description=DESCRIPTIONS["date_to"])),
        "sort": (enum(SortOrder, "sort"), SortOrder.RELEVANCE),
        "mode": (enum(Mode, "mode"), Mode.HYBRID),
        "collections": (list[_Text], Field(default_factory=list, alias=collection,
                                           description=DESCRIPTIONS[collection])),
    }


_TOPICS = {"query": (_Topic, Field("", description=DESCRIPTIONS["topic"])),
           "body": (_Topic | None, Field(None, description=DESCRIPTIONS["topic"]))}
_DATES = {"check_dates": field_validator("date_from", "date_to")(_checked_date)}


@dataclass(frozen=True)
class ApiModels:
    """The four request models for one largest k, and how to word their errors."""

    max_k: int
    search_query: type[_Params]
    answer_query: type[_Params]
    search_body: type[_Params]
    answer_body: type[_Params]

    def single_valued(self, model: type[_Params]) -> set[str]:
        """The query-string names of `model` that may appear once (all but `collection`).

        Args:
            model: `search_query` or `answer_query`.

        Returns:
            The names whose repetition is an error.
        """
        return {field.alias or name for name, field in model.model_fields.items()} - {"collection"}

    def must_be(self, name: str) -> str:
        """What the parameter `name` must be, in the words of an error message.

        Args:
            name: A request parameter's name (`q`, `k`, `date_from`, ...).

        Returns:
            The phrase the message ends with; "something else" for a name it does not know.
        """
        return {"q": f"text with at least one non-space character, at most {Q_MAX} characters",
                "k": f"a whole number from 1 to {self.max_k}",
                "date_from": "a date YYYY, YYYY-MM or YYYY-MM-DD (or empty or null: no bound)",
                "date_to": "a date YYYY, YYYY-MM or YYYY-MM-DD (or empty or null: no bound)",
                "sort": f"one of {', '.join(SortOrder)}",
                "mode": f"one of {', '.join(Mode)}",
                "collections": "a list of collection names (text)",
                "collection": "a collection name",
                "topic": f"text of at most {Q_MAX} characters (the previous answer's query), or null"}.get(
                    name, "something else")

    def describe(self, errors: Iterable[dict], model: type[_Params] | None = None) -> str:
        """pydantic's (or FastAPI's) validation errors as one line naming each field and what it must be.

        Args:
            errors: `ValidationError.errors()` entries; `loc` starts with "body" or "query" as FastAPI gives them.
            model: the model the request was checked against, whose names an unknown key's message lists.

        Returns:
            The problems joined by "; ", one per field, unknown keys together.
        """
        problems: dict[str, str] = {}
        unknown: list[str] = []
        valid = ", ".join(field.alias or name for name, field in (model or self.answer_body).model_fields.items())
        for error in errors:
            loc, kind = tuple(error.get("loc", ())), error.get("type", "")
            name = loc[1] if len(loc) > 1 else None
            if kind == "extra_forbidden":
                unknown.append(str(name))
            elif kind == "json_invalid":
                reason = (error.get("ctx") or {}).get("error", "not JSON")
                problems["body"] = f"the body is not valid JSON ({reason}): send an object such as {EXAMPLE_BODY}"
            elif not isinstance(name, str):
                problems["body"] = (f"the body must be a JSON object such as {EXAMPLE_BODY}, sent with "
                                    f"content-type: application/json")
            elif name not in problems:
                problems[name] = self._problem(name, kind, error)
        if unknown:
            shown = ", ".join(dict.fromkeys(unknown))
            problems["unknown"] = f"unknown parameter{'s' if len(set(unknown)) > 1 else ''} {shown}; valid: {valid}"
        return "; ".join(problems.values()) or "malformed request"

    def _problem(self, name: str, kind: str, error: dict) -> str:
        given = error.get("input")
        if name == "q" and kind in ("missing", "too_short", "string_too_short", "string_pattern_mismatch"):
            return _EMPTY_Q
        if kind in ("too_long", "string_too_long") and isinstance(given, str):
            return f"{name} is longer than {Q_MAX} characters ({len(given)} given): shorten it"
        reason = str((error.get("ctx") or {}).get("error", "")) if kind == "value_error" else ""
        if reason.startswith(f"{name}:"):  # the date parser's own words, which name the field
            return reason
        if "surrogate" in reason:
            return f"{name} holds an unpaired surrogate ({_shown(given)}): send valid Unicode text"
        quoted = " (a JSON string: send the number without quotes)" if kind == "int_type" and isinstance(given, str) \
            else ""
        return f"{name} must be {self.must_be(name)}, got {_shown(given)}{quoted}"


def _shown(value: Any, limit: int = 60) -> str:
    """A value as the error quotes it: as JSON, cut short."""
    text = json.dumps(value, ensure_ascii=False, default=repr)
    text = text if len(text) <= limit else text[:limit] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")  # an unpaired surrogate, shown as \ud800


def api_models(max_k: int) -> ApiModels:
    """The request models whose k runs from 1 to `max_k` (the retriever's `Settings.max_k`).

    Args:
        max_k: the largest k a search accepts.

    Returns:
        The query-string and JSON-body models of `/api/search` and `/api/answer`.
    """
    query = _search_fields(max_k, in_query=True)
    body = _search_fields(max_k, in_query=False)
    search_query = create_model("SearchQuery", __base__=_QueryParams, __validators__=_DATES, **query)
    search_body = create_model("SearchBody", __base__=_BodyParams, __validators__=_DATES, **body)
    return ApiModels(
        max_k, search_query,
        create_model("AnswerQuery", __base__=search_query, topic=_TOPICS["query"]),
        search_body,
        create_model("AnswerBody", __base__=search_body, topic=_TOPICS["body"]),
    )


# ------------------------------------------------------------------------------------------- what comes back


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Record):
    """Every 4xx and 5xx answer of the API."""

    error: str = Field(description="what was wrong and what to change, one line")


class HitRecord(_Record):
    """One hit, `rag.search.results.Hit.to_record()`."""

    id: str
    date: str = Field(description="ISO date, as precise as the archive: 1964, 1964-03 or 1964-03-12")
    date_text: str
    title: str
    collection: str
    summary: str | None
    url: str | None = Field(description="the document's page on the archive, as its record gives it "
                                        "(e.g. https://digitalarchive.wilsoncenter.org/document/116543); null when "
                                        "unknown, never made up")
    score: float = Field(description="fused relevance; comparable within one search only")
    rank: int = Field(description="1-based place by relevance")
    matched: list[str] = Field(description="the signals that found it: semantic, keyword, sentence")
    highlight: str | None
    citation: str = Field(description='a Chicago-style note: "Title," date as printed, collection (left out when '
                                      "unknown), Wilson Center Digital Archive, the document's web address when known")
    semantic_score: float | None
    keyword_score: float | None


class SearchRecord(_Record):
    """`GET/POST /api/search`: `rag.search.results.Results.to_record()`."""

    question: str
    query: str = Field(description="the words searched: the question without its date phrase")
    date_from: str | None
    date_to: str | None
    date_phrase: str | None
    total: int = Field(description="documents that matched at all, before the cut to k")
    notes: list[str]
    hits: list[HitRecord]


class QuoteRecord(_Record):
    """One sentence of the synthesis, verbatim from the summary of cited document [citation_number]."""

    sentence: str
    citation_number: int
    doc_id: str


class CitedRecord(HitRecord):
    """A cited document, numbered as on the chat page."""

    citation_number: int


class AnswerRecord(_Record):
    """`GET/POST /api/answer`: `rag.chat.answer.Answer.to_record()`."""

    asked: str
    question: str = Field(description="the question searched, after follow-up resolution")
    query: str
    date_from: str | None
    date_to: str | None
    date_phrase: str | None
    notes: list[str]
    total: int
    answered: bool
    synthesis: list[QuoteRecord]
    documents: list[CitedRecord]
