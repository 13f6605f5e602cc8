"""Follow-up questions: "what about 1964?" or "and the Romanians?" reuse the previous turn's topic.

A follow-up is a short question that opens with a connecting phrase ("what about", "and", "how
about", "what of") or consists only of a date ("in 1964?"). Its new constraint is combined with
the previous topic: a new date replaces the previous date phrase, anything else is added to the
topic and keeps the previous date phrase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.search.question import MONTH, YEAR

MAX_FOLLOWUP_WORDS = 8  # longer questions stand on their own, whatever their first word

_OPENER = re.compile(r"^(?:and\s+)?(?:what|how)\s+(?:about|of)\b|^and\b", re.IGNORECASE)
# Words that make a remainder a date constraint: a year, a decade, a month name.
_DATE_WORD = re.compile(rf"\b{YEAR}s?\b|\b{MONTH}(?!\w)", re.IGNORECASE)
_PREPOSITION = re.compile(r"^(?:in|during|before|after|from|between|since|until|by|around)\b", re.IGNORECASE)
_ONLY_DATE = re.compile(rf"^(?:{_PREPOSITION.pattern[1:]}\s+)?(?:(?:early|late|mid)\s+)?"
                        rf"(?:{MONTH}\s+)?{YEAR}s?$", re.IGNORECASE)
_LEADING_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Topic:
    """What the previous turn searched: its topic words and the date phrase that set its range."""

    query: str
    date_phrase: str | None = None


def _clean(question: str) -> str:
    return " ".join(question.split()).strip().rstrip("?.! ").strip()


def is_followup(question: str) -> bool:
    """Tell a follow-up ("what about 1964?", "and the Romanians?") from a question that stands alone.

    Args:
        question: The question as asked.

    Returns:
        True for a short question that opens with a connecting phrase or is only a date.
    """
    text = _clean(question)
    if not text or len(text.split()) > MAX_FOLLOWUP_WORDS:
        return False
    return bool(_OPENER.match(text) or _ONLY_DATE.match(text))


def resolve(question: str, previous: Topic | None) -> str:
    """Choose the question to search.

    Args:
        question: The question as asked.
        previous: What the previous turn searched, or None.

    Returns:
        A follow-up combined with the previous topic (a new date replaces the previous date phrase), else the
        question as asked.
    """
    if previous is None or not previous.query.strip() or not is_followup(question):
        return question.strip()
    constraint = _OPENER.sub("", _clean(question), count=1).strip(" ,")
    if not constraint:
        return question.strip()
    topic = previous.query.strip()
    if _ONLY_DATE.match(constraint):
        return f"{topic} {constraint}" if _PREPOSITION.match(constraint) else f"{topic} in {constraint}"
    combined = f"{topic} {_LEADING_ARTICLE.sub('', constraint)}"
    if _DATE_WORD.search(constraint) or not previous.date_phrase:
        return combined  # a date among the new words replaces the previous one
    return f"{combined} {previous.date_phrase}"
