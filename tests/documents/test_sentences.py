"""The sentence splitter shared by highlights and the chat's answers."""

from __future__ import annotations

import pytest

from rag.documents.sentences import sentences


def test_sentences_do_not_break_at_initials_or_abbreviations():
    text = "Talks with c. V. P. Moskovskyi on Korea. The Cuban envoy listened. Then the talks ended!"
    assert sentences(text) == ["Talks with c. V. P. Moskovskyi on Korea.", "The Cuban envoy listened.",
                               "Then the talks ended!"]


def test_quotes_and_brackets_end_and_open_sentences():
    text = 'He said "No." (The envoy left.) “Why?” she asked. Dr. Li agreed, cf. No. 5.'
    assert sentences(text) == ['He said "No."', "(The envoy left.)", "“Why?” she asked.", "Dr. Li agreed, cf. No. 5."]


def test_lower_case_after_a_stop_does_not_split():
    assert sentences("The U.S. delegation e.g. arrived. Then it left.") == [
        "The U.S. delegation e.g. arrived.", "Then it left."]


def test_whitespace_is_flattened_into_one_line():
    assert sentences("  First\nline.\n\n  Second\tone.  ") == ["First line.", "Second one."]


@pytest.mark.parametrize("text", [None, "", "   \n"])
def test_no_text_has_no_sentences(text):
    assert sentences(text) == []


def test_text_without_a_stop_is_one_sentence():
    assert sentences("A telegram on Albania") == ["A telegram on Albania"]
