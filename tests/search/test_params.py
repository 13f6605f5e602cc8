"""Search parameters checked once for the Python API, the chat and the CLI: k, dates, mode and sort."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from rag.errors import QueryError
from rag.search.params import Mode, SortOrder, checked_k, checked_range, parse_date_param


@pytest.mark.parametrize(("k", "expected"), [(1, 1), (10, 10), (1000, 1000), (np.int64(7), 7), (5.0, 5)])
def test_k_is_a_whole_number_in_range(k, expected):
    assert checked_k(k, 1000) == expected and type(checked_k(k, 1000)) is int


@pytest.mark.parametrize("k", [0, -3, None, 2.5, True, False, 10**9, 1001, "5", float("nan"), float("inf")])
def test_bad_k_names_the_allowed_range(k):
    with pytest.raises(QueryError, match=r"^k must be a whole number from 1 to 1000, got "):
        checked_k(k, 1000)


@pytest.mark.parametrize(("value", "iso"), [("1963", "1963"), ("1963-11", "1963-11"), (" 1963-11-27 ", "1963-11-27"),
                                            (dt.date(1963, 11, 27), "1963-11-27"),
                                            (dt.datetime(1963, 11, 27, 10, 5), "1963-11-27"),
                                            (None, None), ("", None), ("  ", None)])
def test_date_parameters_accept_partial_iso_and_dates(value, iso):
    assert parse_date_param(value, "date_from") == iso


@pytest.mark.parametrize("value", ["Nov 1963", "1963-13", "63", "1963-02-30"])
def test_unreadable_date_parameters_name_the_parameter(value):
    with pytest.raises(QueryError, match="^date_to: "):
        parse_date_param(value, "date_to")


def test_a_range_reads_both_ends_and_blank_means_open():
    assert checked_range(" ", None) == (None, None)
    assert checked_range("1963", "1963-04-05") == ("1963", "1963-04-05")
    assert checked_range("1963-04", "1963-04-01") == ("1963-04", "1963-04-01")  # the month overlaps its first day


@pytest.mark.parametrize(("date_from", "date_to", "message"), [
    ("1964", "1963", r"the range starts \(1964\) after it ends \(1963\): date_from must not be after date_to"),
    ("1963-02-30", "", "^date_from: impossible date '1963-02-30'"),
    ("", "April 1963", "^date_to: .*expected YYYY, YYYY-MM or YYYY-MM-DD"),
])
def test_a_bad_range_says_what_to_change(date_from, date_to, message):
    with pytest.raises(QueryError, match=message):
        checked_range(date_from, date_to)


def test_choices_accept_any_case_and_list_the_valid_values():
    assert Mode(" Keyword ") is Mode.KEYWORD and SortOrder("DATE") is SortOrder.DATE
    with pytest.raises(QueryError, match="^mode must be one of hybrid, semantic, keyword; got 'fuzzy'$"):
        Mode("fuzzy")
    with pytest.raises(QueryError, match="^sort must be one of relevance, date; got 'newest'$"):
        SortOrder("newest")
    with pytest.raises(QueryError, match="got None"):
        SortOrder(None)
