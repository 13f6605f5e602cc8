"""Follow-up questions reuse the previous topic with the new constraint."""

import pytest

from rag.chat.followup import Topic, is_followup, resolve

ZHOU = Topic("Zhou Enlai test ban", "in 1963")


@pytest.mark.parametrize(("question", "expected"), [
    ("what about 1964?", "Zhou Enlai test ban in 1964"),
    ("And in March 1964?", "Zhou Enlai test ban in March 1964"),
    ("1964?", "Zhou Enlai test ban in 1964"),
    ("how about before 1964", "Zhou Enlai test ban before 1964"),
    ("and the Romanians?", "Zhou Enlai test ban Romanians in 1963"),
    ("What of the Albanians in 1964?", "Zhou Enlai test ban Albanians in 1964"),
    ("and Sept. 1964?", "Zhou Enlai test ban in Sept. 1964"),  # month names as the question parser reads them
    ("what about the Poles in Nov. 1963?", "Zhou Enlai test ban Poles in Nov. 1963"),
    ("what about the mayor?", "Zhou Enlai test ban mayor in 1963"),  # "may" inside a word is no month
])
def test_followups_combine_with_previous_topic(question, expected):
    assert is_followup(question)
    assert resolve(question, ZHOU) == expected


def test_new_entity_without_previous_date_phrase():
    assert resolve("and the Romanians?", Topic("test ban")) == "test ban Romanians"


@pytest.mark.parametrize("question", [
    "What did Mao say about Khrushchev?",
    "Andropov and the Romanian party",
    "and what did the Romanians, the Poles and the East Germans say about the split?",
])
def test_standalone_questions_are_kept(question):
    assert not is_followup(question)
    assert resolve(question, ZHOU) == question


def test_without_previous_turn_the_question_is_searched_as_asked():
    assert resolve("what about 1964?", None) == "what about 1964?"
    assert resolve("and?", ZHOU) == "and?"  # nothing to add: searched as asked
