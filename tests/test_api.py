"""The REST API (`/api/search`, GET and POST) on the real retriever, through FastAPI's test client."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def client(retriever):
    from fastapi.testclient import TestClient

    from rag.api import create_api

    with TestClient(create_api(retriever, max_k=retriever.settings.max_k)) as test_client:
        yield test_client


def test_get_returns_the_python_apis_records(client, retriever):
    response = client.get("/api/search", params={"q": "Romania mediation", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body == retriever.search("Romania mediation", k=3).to_record()
    assert len(body["hits"]) == 3 and body["hits"][0]["citation"].endswith("Wilson Center Digital Archive.")


def test_get_reads_dates_from_the_question_and_the_parameters(client):
    from_question = client.get("/api/search", params={"q": "Soviet propaganda in late 1963"}).json()
    assert (from_question["date_from"], from_question["date_to"]) == ("1963-09", "1963-12")
    explicit = client.get("/api/search", params={"q": "Romania", "date_from": "1964", "date_to": "1964",
                                                 "sort": "date"}).json()
    assert explicit["hits"] and all(hit["date"].startswith("1964") for hit in explicit["hits"])
    dates = [hit["date"] for hit in explicit["hits"]]
    assert dates == sorted(dates)


def test_post_takes_the_same_parameters_as_json(client):
    get = client.get("/api/search", params={"q": "Albania", "k": 2, "mode": "keyword"}).json()
    post = client.post("/api/search", json={"q": "Albania", "k": 2, "mode": "keyword"}).json()
    assert post == get


@pytest.mark.parametrize(("params", "words"), [
    ({"q": ""}, "q is empty"),
    ({"q": "Romania", "k": "0"}, "k"),
    ({"q": "Romania", "k": "2.5"}, "k"),
    ({"q": "Romania", "k": "ten"}, "k"),
    ({"q": "Romania", "date_from": "1964", "date_to": "1963"}, "1964"),
    ({"q": "Romania", "date_from": "April 1963"}, "YYYY"),
    ({"q": "Romania", "mode": "fuzzy"}, "hybrid, semantic, keyword"),
    ({"q": "Romania", "sort": "alphabetical"}, "relevance, date"),
])
def test_bad_parameters_are_400_with_one_line_saying_what_to_change(client, params, words):
    response = client.get("/api/search", params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert words in error and "\n" not in error and "Traceback" not in error


@pytest.mark.parametrize("body", [{"q": "Romania", "k": None}, {"q": "Romania", "k": 2.5},
                                  {"q": "Romania", "k": 10**9}, {"q": "Romania", "colour": "red"}, {"k": 3}])
def test_bad_json_bodies_are_400(client, body):
    response = client.post("/api/search", json=body)
    assert response.status_code == 400 and response.json()["error"]


def test_a_body_that_is_not_an_object_is_400(client):
    response = client.post("/api/search", content=b"[1, 2]", headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]


def test_the_docs_page_lists_the_routes(client):
    schema = client.get("/openapi.json").json()
    assert {"get", "post"} <= set(schema["paths"]["/api/search"])
    assert client.get("/docs").status_code == 200


# ------------------------------------------------------------------------------------------- /api/answer


def test_answer_get_returns_the_python_answer_record(client, retriever):
    from rag.chat.answer import answer

    response = client.get("/api/answer", params={"q": "what about 1964?", "topic": "Romania mediation", "k": 4})
    assert response.status_code == 200
    body = response.json()
    assert body == answer(retriever, "what about 1964?", "Romania mediation", k=4).to_record()
    assert body["question"] == "Romania mediation in 1964" and body["date_from"] == "1964"
    assert body["answered"] is True and body["synthesis"] and len(body["documents"]) <= 4


def test_answer_post_matches_get_and_off_topic_is_not_answered(client):
    params = {"q": "Who painted the Mona Lisa?"}
    post = client.post("/api/answer", json=params).json()
    assert post == client.get("/api/answer", params=params).json()
    assert post["answered"] is False and post["synthesis"] == []


@pytest.mark.parametrize(("method", "params", "words"), [
    ("get", {"q": ""}, "q is empty"), ("get", {"q": "Romania", "k": "0"}, "k"),
    ("post", {"q": "Romania", "topic": 3}, "topic must be text"), ("post", {"q": "Romania", "x": 1}, "unknown"),
])
def test_answer_bad_parameters_are_400(client, method, params, words):
    response = client.get("/api/answer", params=params) if method == "get" else client.post("/api/answer",
                                                                                            json=params)
    assert response.status_code == 400 and words in response.json()["error"]


def test_collections_limit_search_and_answer(client):
    answer = client.get("/api/answer", params={"q": "Romania", "collection": ["sino-soviet split"]}).json()
    assert "only the collection Sino-Soviet Split, 1960-1984" in answer["notes"] and answer["documents"]
    post = client.post("/api/search", json={"q": "Romania", "collections": ["Sino-Soviet Split, 1960-1984"]})
    assert post.status_code == 200 and post.json()["hits"]
    bad = client.get("/api/search", params={"q": "Romania", "collection": "Berlin Wall"})
    assert bad.status_code == 400 and "unknown collection 'Berlin Wall'" in bad.json()["error"]


# ------------------------------------------------------------------------------- typed parameters (issue 17)


@pytest.mark.parametrize(("field", "value"), [
    ("q", 1), ("q", True), ("q", None), ("q", []), ("q", {"text": "Romania"}),
    ("k", "5"), ("k", True), ("k", 2.5), ("k", 1e-3), ("k", None), ("k", []), ("k", {}),
    ("date_from", 0), ("date_from", True), ("date_from", []), ("date_from", {}), ("date_to", 1964), ("date_to", []),
    ("sort", 0), ("sort", []), ("sort", {}), ("sort", True), ("sort", None), ("sort", "DATE"),
    ("mode", 0), ("mode", {}), ("mode", []), ("mode", True), ("mode", None), ("mode", "Keyword"),
    ("collections", True), ("collections", 5), ("collections", "Sino-Soviet Split"), ("collections", [1]),
    ("collections", {}), ("collections", None), ("topic", 3), ("topic", []), ("topic", False),
])
def test_a_wrong_type_in_a_json_body_is_400_naming_the_field(client, field, value):
    """JSON bodies are read strictly: no string for a number, no bool for an int, no guess at an enum."""
    for path in (("/api/answer",) if field == "topic" else ("/api/search", "/api/answer")):
        response = client.post(path, json={"q": "Romania", field: value})
        assert response.status_code == 400, (path, field, value, response.text)
        error = response.json()["error"]
        assert error.startswith(f"{field} must be "), error
        assert "\n" not in error


def test_a_json_number_with_a_zero_fraction_is_that_whole_number(client):
    """JSON has one number type, and JSON Schema's integer includes 5.0 (the fuzzer sends it)."""
    assert client.post("/api/search", json={"q": "Romania", "k": 5.0}).json() == client.get(
        "/api/search", params={"q": "Romania", "k": 5}).json()


def test_a_json_string_for_a_number_says_to_drop_the_quotes(client):
    error = client.post("/api/search", json={"q": "Romania", "k": "5"}).json()["error"]
    assert error == 'k must be a whole number from 1 to 1000, got "5" (a JSON string: send the number without quotes)'


def test_several_problems_are_one_line_naming_each_field(client):
    body = {"q": "Romania", "k": 0, "mode": 0, "sort": [], "date_from": 0, "collections": True}
    error = client.post("/api/search", json=body).json()["error"]
    assert [part.split(" ", 1)[0] for part in error.split("; ")] == ["k", "date_from", "sort", "mode", "collections"]


@pytest.mark.parametrize("k", ["ten", "2.5", "5_0", "١", "", "0x5", "1e1"])
def test_a_query_string_k_must_be_written_as_a_whole_number(client, k):
    response = client.get("/api/search", params={"q": "Romania", "k": k})
    assert response.status_code == 400
    shown = json.dumps(k, ensure_ascii=False)
    assert response.json()["error"] == f"k must be a whole number from 1 to 1000, got {shown}"


def test_a_query_string_is_text_so_k_5_is_the_number_5(client):
    as_text = client.get("/api/search", params={"q": "Romania", "k": " 5 "}).json()
    assert len(as_text["hits"]) == 5 and as_text == client.post("/api/search", json={"q": "Romania", "k": 5}).json()


@pytest.mark.parametrize("k", [0, -1, 1001, 10**9, 10**30])
def test_k_out_of_range_is_400_with_the_range(client, k):
    for response in (client.get("/api/search", params={"q": "Romania", "k": k}),
                     client.post("/api/search", json={"q": "Romania", "k": k})):
        assert response.status_code == 400
        assert response.json()["error"].startswith("k must be a whole number from 1 to 1000, got ")


def test_k_at_max_k_is_served(client):
    response = client.get("/api/search", params={"q": "Romania", "k": 1000})
    assert response.status_code == 200 and response.json()["hits"]


@pytest.mark.parametrize("path", ["/api/search", "/api/answer"])
def test_an_unknown_key_is_400_naming_it_and_the_valid_ones(client, path):
    body = client.post(path, json={"q": "Romania", "colour": "red", "kk": 3}).json()["error"]
    assert body.startswith("unknown parameters colour, kk; valid: q, k, date_from, date_to, sort, mode, collections")
    query = client.get(path, params={"q": "Romania", "colour": "red"}).json()["error"]
    assert query.startswith("unknown parameter colour; valid: q, k, date_from, date_to, sort, mode, collection")
    assert ("topic" in query) == (path == "/api/answer")
    assert client.get(path, params={"q": "Romania", "collections": "x"}).status_code == 400  # GET's name: collection


@pytest.mark.parametrize("query", ["k=1&k=2", "date_from=1963&date_from=1964", "q=b", "mode=keyword&mode=semantic",
                                   "sort=date&sort=relevance", "date_to=1963&date_to=1964"])
def test_a_repeated_single_valued_query_parameter_is_400(client, query):
    """FastAPI would take the last value silently."""
    name = query.split("=", 1)[0]
    response = client.get(f"/api/search?q=Romania&{query}")
    assert response.status_code == 400
    assert response.json()["error"] == (f"repeated parameter {name} (2 times): give each once "
                                        "(only collection may repeat)")


def test_repeated_parameters_are_named_together_and_topic_counts_on_answer(client):
    error = client.get("/api/answer?q=a&q=b&topic=x&topic=y&topic=z").json()["error"]
    assert error.startswith("repeated parameters q (2 times), topic (3 times): ")


def test_collection_may_repeat(client):
    response = client.get("/api/search?q=Romania&collection=sino-soviet+split&collection=Sino-Soviet+Split")
    assert response.status_code == 200 and response.json()["hits"]


def test_a_post_with_a_query_string_is_400_rather_than_ignoring_it(client):
    response = client.post("/api/search?k=3", json={"q": "Romania"})
    assert response.status_code == 400 and "move k into the body" in response.json()["error"]


@pytest.mark.parametrize(("content", "content_type"), [
    (b"not json", "application/json"), (b"{", "application/json"), (b'{"q": "Romania",}', "application/json"),
    (b"", "application/json"), (b"\xff\xfe\x00", "application/json"),
    (b"q=Romania", "application/x-www-form-urlencoded"),
    (b"q=Romania", "text/plain"), (b'{"q": "Romania"}', "text/plain"), (b'{"q": "Romania"}', None),
    (b'"Romania"', "application/json"), (b"null", "application/json"), (b"5", "application/json"),
])
def test_a_body_that_is_not_a_json_object_is_400_saying_so(client, content, content_type):
    headers = {"content-type": content_type} if content_type else {}
    for path in ("/api/search", "/api/answer"):
        response = client.post(path, content=content, headers=headers)
        assert response.status_code == 400, response.text
        assert response.json()["error"].startswith(("the body must be a JSON object", "the body is not valid JSON"))


def test_q_is_at_most_q_max_characters(client):
    from rag.api_models import Q_MAX

    assert client.post("/api/search", json={"q": "Romania " * 125}).status_code == 200  # 1000 characters
    for response in (client.post("/api/search", json={"q": "x" * (Q_MAX + 1)}),
                     client.get("/api/answer", params={"q": "Romania " * 500})):
        assert response.status_code == 400
        assert response.json()["error"].startswith(f"q is longer than {Q_MAX} characters (")


@pytest.mark.parametrize("q", ["", "   ", "\t\n"])
def test_an_empty_or_blank_q_says_so(client, q):
    for response in (client.get("/api/search", params={"q": q}), client.post("/api/answer", json={"q": q})):
        assert response.status_code == 400 and response.json()["error"].startswith("q is empty")
    assert client.post("/api/search", json={}).json()["error"].startswith("q is empty")


@pytest.mark.parametrize(("date", "words"), [
    ("1963-13", "date_from: impossible date '1963-13'"), ("1963-02-30", "date_from: impossible date '1963-02-30'"),
    ("1963-1-1", "date_from must be a date YYYY, YYYY-MM or YYYY-MM-DD"), ("19633", "date_from must be a date YYYY"),
    (" 1963", "date_from must be a date YYYY"), ("١٩٦٣", "date_from must be a date YYYY"),
])
def test_a_bad_date_is_400_naming_the_field(client, date, words):
    for response in (client.get("/api/search", params={"q": "Romania", "date_from": date}),
                     client.post("/api/search", json={"q": "Romania", "date_from": date})):
        assert response.status_code == 400 and response.json()["error"].startswith(words)


def test_an_empty_or_null_date_is_no_bound(client):
    absent = client.get("/api/search", params={"q": "Romania"}).json()
    assert client.get("/api/search", params={"q": "Romania", "date_from": "", "date_to": ""}).json() == absent
    assert client.post("/api/search", json={"q": "Romania", "date_from": None, "date_to": ""}).json() == absent


def test_text_that_cannot_be_encoded_is_400_not_500(client):
    for body in (b'{"q": "\\ud800"}', b'{"q": "Romania", "collections": ["\\udc00"]}',
                 b'{"q": "Romania", "topic": "a\\ud800"}'):
        response = client.post("/api/answer", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400 and "unpaired surrogate" in response.json()["error"]


def test_a_body_over_the_limit_is_413_with_an_error(client):
    from rag.api import MAX_BODY_BYTES

    big = json.dumps({"q": "x" * MAX_BODY_BYTES}).encode()
    declared = client.post("/api/search", content=big, headers={"content-type": "application/json"})
    chunked = client.post("/api/search", content=iter([big[:1000], big[1000:]]),
                          headers={"content-type": "application/json"})
    for response in (declared, chunked):
        assert response.status_code == 413
        assert response.json() == {"error": f"the body is larger than {MAX_BODY_BYTES} bytes; q is at most 1000 "
                                            "characters"}


def test_an_unknown_collection_is_still_the_retrievers_400(client):
    response = client.post("/api/answer", json={"q": "Romania", "collections": ["Berlin Wall"]})
    assert response.status_code == 400 and response.json()["error"].startswith("unknown collection 'Berlin Wall'")


def test_a_failure_inside_the_retriever_is_a_logged_500_with_an_error(caplog):
    from fastapi.testclient import TestClient

    from rag.api import create_api

    class Broken:
        def search(self, *args, **kwargs):
            raise RuntimeError("disk on fire")

    with TestClient(create_api(Broken(), max_k=5)) as broken:
        response = broken.get("/api/search", params={"q": "Romania"})
    assert response.status_code == 500
    assert response.json() == {"error": "the search failed unexpectedly; the error was logged on the server"}
    assert "GET /api/search failed" in caplog.text and "disk on fire" in caplog.text


# ------------------------------------------------------------------------------------- what /openapi.json says


def _resolved(schema: dict, node: dict) -> dict:
    ref = node.get("$ref")
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else node


def test_openapi_states_types_enums_and_bounds(client):
    from rag.api_models import DATE_PATTERN, Q_MAX
    from rag.search.params import Mode, SortOrder

    schema = client.get("/openapi.json").json()
    for path in ("/api/search", "/api/answer"):
        get = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        body = _resolved(schema, schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"])
        assert body["additionalProperties"] is False and body["required"] == ["q"]
        for fields in ({name: p["schema"] for name, p in get.items()}, body["properties"]):
            assert (fields["q"]["type"], fields["q"]["minLength"], fields["q"]["maxLength"]) == ("string", 1, Q_MAX)
            assert fields["k"]["type"] == "integer" and fields["k"]["default"] == 10
            assert (fields["k"]["minimum"], fields["k"]["maximum"]) == (1, 1000)
            assert _resolved(schema, fields["mode"])["enum"] == [m.value for m in Mode]
            assert _resolved(schema, fields["sort"])["enum"] == [s.value for s in SortOrder]
        assert get["q"]["required"] is True
        assert get["date_from"]["schema"]["pattern"] == DATE_PATTERN
        assert {"type": "string", "pattern": DATE_PATTERN} in body["properties"]["date_to"]["anyOf"]
        assert get["collection"]["schema"] | {"description": "", "title": ""} == {
            "type": "array", "items": {"type": "string"}, "description": "", "title": ""}
        assert body["properties"]["collections"]["items"] == {"type": "string"}
        assert ("topic" in get) == ("topic" in body["properties"]) == (path == "/api/answer")
        for method in ("get", "post"):
            responses = schema["paths"][path][method]["responses"]
            assert set(responses) == {"200", "400", "413", "500"}  # no 422: a bad parameter is 400
            error = responses["400"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorBody"}
    assert schema["components"]["schemas"]["ErrorBody"]["properties"]["error"]["type"] == "string"
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_max_k_comes_from_the_retrievers_settings_and_bounds_the_schema(retriever):
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from rag.api import create_api
    from rag.search.retriever import Retriever

    small = Retriever(retriever.index, retriever.encoder, replace(retriever.settings, max_k=50, chat_max_k=50))
    with TestClient(create_api(small, max_k=small.settings.max_k)) as own:
        k = {p["name"]: p for p in own.get("/openapi.json").json()["paths"]["/api/search"]["get"]["parameters"]}["k"]
        assert k["schema"]["maximum"] == 50
        assert own.get("/api/search", params={"q": "Romania", "k": 50}).status_code == 200
        assert own.get("/api/search", params={"q": "Romania", "k": 51}).json()["error"].startswith(
            "k must be a whole number from 1 to 50")


def test_responses_are_the_records_the_schema_declares(client):
    from rag.api_models import AnswerRecord, SearchRecord

    SearchRecord.model_validate(client.get("/api/search", params={"q": "Romania", "k": 20}).json())
    SearchRecord.model_validate(client.get("/api/search", params={"q": "November 1963"}).json())  # a listing
    AnswerRecord.model_validate(client.get("/api/answer", params={"q": "How did Romania mediate?"}).json())
    AnswerRecord.model_validate(client.get("/api/answer", params={"q": "Who painted the Mona Lisa?"}).json())


def test_hits_carry_the_records_url_or_null(url_retriever):
    from conftest import URL_RECORDS
    from fastapi.testclient import TestClient

    from rag.api import create_api

    urls = {record["title"]: record.get("url") for record in URL_RECORDS}
    with TestClient(create_api(url_retriever, max_k=url_retriever.settings.max_k)) as client:
        hits = client.get("/api/search", params={"q": "nuclear test ban", "k": 10}).json()["hits"]
        documents = client.post("/api/answer", json={"q": "nuclear test ban", "k": 10}).json()["documents"]
        schema = client.get("/openapi.json").json()["components"]["schemas"]["HitRecord"]
    assert len(hits) == len(URL_RECORDS) == len(documents)
    assert {hit["title"]: hit["url"] for hit in hits} == urls == {doc["title"]: doc["url"] for doc in documents}
    assert None in urls.values()  # a record without url gives null, not a made-up address
    known = next(hit for hit in hits if hit["url"] == "https://digitalarchive.wilsoncenter.org/document/116543")
    assert known["citation"].endswith("Wilson Center Digital Archive, https://digitalarchive.wilsoncenter.org/"
                                      "document/116543.")
    assert "url" in schema["required"] and {"type": "null"} in schema["properties"]["url"]["anyOf"]
    assert "null when unknown" in schema["properties"]["url"]["description"]
