"""The timeline frame: one row per cited document, dated, numbered like the answer."""

from rag.chat.timeline import timeline_frame, x_limits
from rag.documents.corpus import load_corpus
from rag.search.results import Hit, Results, Signal
from rag.settings import Settings


def test_rows_follow_dates_and_numbers():
    docs = {d.date: d for d in load_corpus(Settings().corpus_dir).documents}
    hits = tuple(Hit(docs[date], score, rank, (Signal.SEMANTIC,), citation="c")
                 for rank, (date, score) in enumerate([("1964-03", 0.8), ("1963-04-03", 0.4)], start=1))
    frame = timeline_frame(Results(hits, question="q", query="q", total=2))
    assert list(frame["citation"]) == ["[1]", "[2]"]
    assert [d.isoformat()[:10] for d in frame["date"]] == ["1963-04-03", "1964-03-01"]
    assert list(frame["relevance"]) == [0.5, 1.0]
    assert str(frame["date"].dtype).startswith("datetime64")
    assert list(frame["title"]) == [docs["1963-04-03"].title, docs["1964-03"].title]


def test_no_hits_gives_an_empty_frame_with_columns():
    frame = timeline_frame(Results((), question="q", query="q"))
    assert frame.empty and "date" in frame.columns


def test_x_limits_pad_both_ends_in_seconds():
    import pandas as pd

    frame = pd.DataFrame({"date": pd.to_datetime(["1963-04-03", "1964-03-01"])})
    low, high = x_limits(frame)
    assert low < pd.Timestamp("1963-04-03").timestamp() - 14 * 86_400
    assert high > pd.Timestamp("1964-03-01").timestamp() + 14 * 86_400
    assert x_limits(frame.iloc[:0]) is None
