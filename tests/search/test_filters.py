"""The date filter (document date spans against a range) and the collection preference, on hand-made rows."""

from __future__ import annotations

import pytest

from rag.errors import QueryError
from rag.search.filters import CollectionFilter, CollectionPreference, DateFilter, checked_collections, short_name

DATES = ["1963-04-03", "1963-11", "1964", "1964-03-15", "1963-11-30"]


def rows(mask) -> list[int]:
    return [row for row, ok in enumerate(mask) if ok]


def test_an_open_range_filters_nothing():
    assert DateFilter(DATES).allowed(None, None) is None


@pytest.mark.parametrize(("date_from", "date_to", "expected"), [
    ("1963-11-10", "1963-11-20", [1]),  # a month-only date overlaps any range touching its month
    ("1963-11-30", None, [1, 2, 3, 4]),
    (None, "1963-11", [0, 1, 4]),  # an end date covers its whole period
    (None, "1963-04-03", [0]),
    ("1964-06", "1964-06", [2]),  # a year-only date overlaps each of its months
    ("1965", None, []),
    ("1964-03-15", "1964-03-15", [2, 3]),
])
def test_rows_whose_span_overlaps_the_range(date_from, date_to, expected):
    assert rows(DateFilter(DATES).allowed(date_from, date_to)) == expected


def test_no_rows_no_matches():
    assert rows(DateFilter([]).allowed("1963", "1964")) == []


COLLECTIONS = ["Sino-Soviet Split, 1960-1984", "Cuban Missile Crisis", "Sino-Soviet Split, 1960-1984",
               "Cuban Missile Crisis"]


def test_a_named_collection_gives_its_rows():
    prefer = CollectionPreference(COLLECTIONS)
    assert prefer.named("cables in the cuban missile crisis collection") == (["Cuban Missile Crisis"], [1, 3])
    assert prefer.named("Zhou Enlai") == ([], [])


def test_both_collections_named():
    names, preferred = CollectionPreference(COLLECTIONS).named("Sino-Soviet split and the Cuban missile crisis")
    assert set(names) == {"Sino-Soviet Split, 1960-1984", "Cuban Missile Crisis"} and preferred == [0, 1, 2, 3]


def test_a_single_collection_is_never_preferred():
    assert CollectionPreference(COLLECTIONS[:1] * 3).named("the Sino-Soviet split") == ([], [])


@pytest.mark.parametrize(("name", "short"), [("Sino-Soviet Split, 1960-1984", "sino-soviet split"),
                                             ("Korean War 1950 - 1953", "korean war"),
                                             ("Cuban Missile Crisis", "cuban missile crisis")])
def test_short_names_drop_the_date_span(name, short):
    assert short_name(name) == short


def test_the_collection_filter_allows_the_rows_of_the_named_collections():
    only = CollectionFilter(COLLECTIONS)
    assert only.allowed(None) is None and only.allowed([]) is None
    assert rows(only.allowed(["cuban missile crisis"])) == [1, 3]
    assert rows(only.allowed(["Sino-Soviet split", "Cuban Missile Crisis"])) == [0, 1, 2, 3]
    assert rows(only.allowed(["Sino-Soviet Split, 1960-1984"])) == [0, 2]


def test_an_unknown_collection_names_the_valid_ones():
    with pytest.raises(QueryError, match="unknown collection 'Berlin Wall'; the collections are: Sino-Soviet"):
        CollectionFilter(COLLECTIONS).allowed(["Berlin Wall"])


@pytest.mark.parametrize(("value", "expected"), [(None, []), ("Cuba", ["Cuba"]), (["A", " ", "B"], ["A", "B"])])
def test_collections_parameter_is_one_name_or_several(value, expected):
    assert checked_collections(value) == expected


def test_collections_parameter_must_be_text():
    with pytest.raises(QueryError, match="collection names"):
        checked_collections([3])


def test_documents_of_no_named_collection_are_asked_for_as_unknown():
    only = CollectionFilter(["Sino-Soviet Split, 1960-1984", "", "Sino-Soviet Split, 1960-1984", ""])
    assert rows(only.allowed(["unknown"])) == [1, 3]
    assert rows(only.allowed(["Unknown collection", "sino-soviet split"])) == [0, 1, 2, 3]
    with pytest.raises(QueryError, match="the collections are: Sino-Soviet Split, 1960-1984; unknown collection$"):
        only.allowed(["Berlin Wall"])
