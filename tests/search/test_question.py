"""Date phrases in questions become a date range; the rest is what gets searched."""

from __future__ import annotations

import re

import pytest

from rag.search.question import MAX_QUESTION_CHARS, QueryError, understand


@pytest.mark.parametrize(
    ("question", "query", "date_from", "date_to"),
    [
        ("What did Zhou Enlai say in 1963 about the test ban?", "What did Zhou Enlai say about the test ban?",
         "1963", "1963"),
        ("Romania in early 1964", "Romania", "1964-01", "1964-04"),
        ("Romania in mid-1964", "Romania", "1964-05", "1964-08"),
        ("Romania late 1963", "Romania", "1963-09", "1963-12"),
        ("Soviet radio in the autumn of 1963", "Soviet radio", "1963-09", "1963-11"),
        ("Soviet radio, fall 1963", "Soviet radio", "1963-09", "1963-11"),
        ("spring of 1963 East Germany", "East Germany", "1963-03", "1963-05"),
        ("Korea in winter 1963", "Korea", "1963-12", "1964-02"),
        ("cables from November 1963", "cables", "1963-11", "1963-11"),
        ("cables of Nov. 1963", "cables", "1963-11", "1963-11"),
        ("what happened on November 27, 1963?", "what happened?", "1963-11-27", "1963-11-27"),
        ("what happened on 27 November 1963", "what happened", "1963-11-27", "1963-11-27"),
        ("talks in late November 1963", "talks", "1963-11-21", "1963-11-30"),
        ("Albania between 1963 and 1965", "Albania", "1963", "1965"),
        ("Albania from 1963 to 1965", "Albania", "1963", "1965"),
        ("Albania 1963-1965", "Albania", "1963", "1965"),
        ("Albania before 1964", "Albania", None, "1963"),
        ("Albania until 1963", "Albania", None, "1963"),
        ("East Germany after March 1963", "East Germany", "1963-04", None),
        ("East Germany since March 1963", "East Germany", "1963-03", None),
        ("Albania in the 1960s", "Albania", "1960", "1969"),
        ("Albania in the early 1960s", "Albania", "1960", "1963"),
        ("Albania in 1963-07", "Albania", "1963-07", "1963-07"),
        ("Albania after 1963 and before 1965", "Albania", "1964", "1964"),
    ],
)
def test_date_phrases_become_a_range_and_leave_the_topic(question, query, date_from, date_to):
    asked = understand(question)
    assert (asked.query, asked.date_from, asked.date_to) == (query, date_from, date_to)
    assert asked.phrase and all(part in question for part in asked.phrase.split(" … "))


def test_questions_without_dates_are_not_filtered():
    asked = understand("What did Zhou Enlai say about the test ban?")
    assert (asked.date_from, asked.date_to, asked.phrase) == (None, None, None)
    assert asked.query == "What did Zhou Enlai say about the test ban?"


def test_a_question_that_is_only_a_date_leaves_nothing_to_search():
    asked = understand("November 1963")
    assert (asked.query, asked.date_from, asked.date_to) == ("", "1963-11", "1963-11")


@pytest.mark.parametrize("question", ["", "   \n\t ", "?!...", "— – ,;"])
def test_empty_or_punctuation_only_questions_are_refused(question):
    with pytest.raises(QueryError, match="type a question"):
        understand(question)


def test_a_very_long_question_is_shortened_with_a_note():
    asked = understand("Soviet propaganda " * 10_000)
    assert len(asked.query) <= MAX_QUESTION_CHARS
    assert asked.notes and "shortened" in asked.notes[0]


def test_a_100_kb_question_is_cut_at_a_word_and_its_dates_still_read():
    question = "Soviet propaganda in 1963 " + "x" * 100_000
    asked = understand(question)
    assert asked.query == "Soviet propaganda" and asked.date_from == asked.date_to == "1963"
    assert asked.notes == (f"question shortened to its first 25 characters (limit {MAX_QUESTION_CHARS})",)


@pytest.mark.parametrize(("question", "code", "place"), [
    ("Zhou\x00Enlai", "U+0000", 5), ("\x1b[31mRomania", "U+001B", 1), ("Albania\x7f", "U+007F", 8),
    ("test ban\x0c treaty", "U+000C", 9), ("x" * 200_000 + "\x00", "U+0000", 200_001),
], ids=["nul", "escape", "delete", "form-feed", "nul-after-200k"])
def test_control_characters_are_refused_saying_which_and_where(question, code, place):
    with pytest.raises(QueryError, match=re.escape(f"control character {code} at character {place}:")):
        understand(question)


def test_tabs_and_newlines_are_whitespace():
    assert understand("Zhou Enlai\tand the\r\ntest ban").query == "Zhou Enlai and the test ban"


def test_contradictory_dates_in_the_question_are_refused():
    with pytest.raises(QueryError, match="exclude every day"):
        understand("Albania after 1965 and before 1963")


def test_non_latin_questions_pass_through():
    assert understand("中苏分裂").query == "中苏分裂"
