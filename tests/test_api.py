"""The REST API (`/api/search`, GET and POST) on the real retriever, through FastAPI's test client."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def client(retriever):
    from fastapi.testclient import TestClient

    from rag.api import create_api

    with TestClient(create_api(retriever)) as test_client:
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
