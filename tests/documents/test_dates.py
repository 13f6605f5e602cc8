"""Dates keep their precision: a month stays a month, a year a year."""

from __future__ import annotations

import datetime as dt

import pytest

from rag.documents.dates import (
    DateError,
    bounds,
    looks_like_date,
    parse_printed,
    sort_key,
    validate_iso,
)


@pytest.mark.parametrize(
    ("printed", "iso"),
    [
        ("April 03, 1963", "1963-04-03"),
        ("April 3, 1963", "1963-04-03"),
        ("September 05, 1963", "1963-09-05"),
        ("Sep 5, 1963", "1963-09-05"),
        ("5 September 1963", "1963-09-05"),
        ("March, 1964", "1964-03"),
        ("March 1964", "1964-03"),
        ("1964", "1964"),
        ("  April   03,  1963 ", "1963-04-03"),
    ],
)
def test_printed_dates_become_iso_with_their_precision(printed, iso):
    assert parse_printed(printed) == iso


@pytest.mark.parametrize("printed", ["Aprill 3, 1963", "February 30, 1963", "Spring 1963", "", "63"])
def test_unreadable_printed_dates_say_what_is_expected(printed):
    with pytest.raises(DateError, match=r"expected e.g. 'April 03, 1963', 'March, 1964' or '1964'"):
        parse_printed(printed)


def test_bounds_cover_the_whole_period():
    assert bounds("1962") == (dt.date(1962, 1, 1), dt.date(1962, 12, 31))
    assert bounds("1964-02") == (dt.date(1964, 2, 1), dt.date(1964, 2, 29))
    assert bounds("1963-11-27") == (dt.date(1963, 11, 27), dt.date(1963, 11, 27))
    assert bounds(dt.date(1963, 1, 2)) == (dt.date(1963, 1, 2), dt.date(1963, 1, 2))


@pytest.mark.parametrize("bad", ["1963-1", "63", "1963/11", "1963-02-30", "1963-00"])
def test_validate_iso_rejects_malformed_dates(bad):
    with pytest.raises(DateError):
        validate_iso(bad)


def test_chronological_order_puts_a_period_before_its_parts():
    dates = ["1964-03-02", "1964", "1963-12-31", "1964-03"]
    assert sorted(dates, key=sort_key) == ["1963-12-31", "1964", "1964-03", "1964-03-02"]


@pytest.mark.parametrize(
    ("text", "shaped"),
    [("April 03, 1963", True), ("March, 1964", True), ("1964", True), ("c. 1965", True),
     ("Aprill 3, 1963", True), ("Soviet relations in 1963", False), ("A title", False)],
)
def test_date_shaped_lines(text, shaped):
    assert looks_like_date(text) is shaped
