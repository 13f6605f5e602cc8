"""Does the chat's synthesis answer? Precision of the quoted sentences and honest "not answered", on two splits.

    python eval/synthesis.py [--split tune|heldout|both] [--corpus corpus/] [--json]
    python eval/synthesis.py --grid      # the bars' grid (rag.chat.answer.Bars), on the tune split only

tune: eval/tune.jsonl (on-topic) + eval/synthesis_tune.jsonl (off-topic, "relevant": []): the bars were chosen
on these. heldout: eval/synthesis_heldout.jsonl: eval/heldout.jsonl's labelled questions plus off-topic ones
written for it; nothing was chosen on it. Per split (hybrid search, k=10, as the chat):

- precision: share of quoted sentences from relevant documents, averaged over on-topic answers that quote;
- quotes relevant: share of on-topic answers quoting at least one relevant document;
- quotable: on-topic questions with a relevant document that has a summary among the hits (the others cannot
  quote a relevant document: it was not found, or it is the summary-less record); "quotes relevant (of
  quotable)" is quotes relevant over those alone, reported beside the plain figure, not instead of it;
- on-topic answered / off-topic not answered: shares of `answered` true resp. false;
- "top 3 (before)": precision and quotes-relevant of the former synthesis, one sentence from each top-3 hit.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.chat.answer import Answer, Bars
    from rag.search.retriever import Retriever

HERE = Path(__file__).resolve().parent
SPLITS = {"tune": (HERE / "tune.jsonl", HERE / "synthesis_tune.jsonl"), "heldout": (HERE / "synthesis_heldout.jsonl",)}
GRID = {"document": (0.37, 0.39, 0.41), "sentence": (0.3, 0.4, 0.5), "word_weight": (0.15, 0.25, 0.5),
        "rank_weight": (0.0, 0.2, 0.3, 0.4, 0.5), "margin": (0.0, 0.02, 0.05, 0.1), "limit": (1, 2, 3)}


def load_split(name: str) -> list[dict]:
    """The split's questions, each {"question", "relevant": [ids]}; an empty list marks an off-topic question."""
    questions = []
    for path in SPLITS[name]:
        with path.open(encoding="utf-8") as fh:
            questions += [json.loads(line) for line in fh if line.strip()]
    return questions


def searched(retriever: Retriever, questions: list[dict]) -> list[tuple[dict, Answer, list]]:
    """Each question with its answer and its hits' sentence scores, searched once (the grid re-chooses only)."""
    from rag.chat.answer import answer

    rows = []
    for item in questions:
        reply = answer(retriever, item["question"], k=10)
        rows.append((item, reply, retriever.sentence_scores(reply.results) if reply.results.query else []))
    return rows


def measure(rows: list[tuple[dict, Answer, list]], bars: Bars) -> dict[str, float]:
    """The split's synthesis scores (see the module docstring), the sentences chosen with `bars`."""
    from rag.chat.answer import choose

    precisions, before_precisions = [], []
    quotes_relevant = before_relevant = on_answered = off_quiet = on = off = quotable = quotable_relevant = 0
    for item, reply, scores in rows:
        quotes = choose(reply.results, reply.cited, scores, bars) if reply.results.query else ()
        answered = bool(quotes) if reply.results.query else reply.answered
        relevant = set(item["relevant"])
        if not relevant:
            off += 1
            off_quiet += not answered
            continue
        on += 1
        on_answered += answered
        quoted = [quote.doc_id for quote in quotes]
        if quoted:
            precisions.append(sum(doc in relevant for doc in quoted) / len(quoted))
        quotes_relevant += any(doc in relevant for doc in quoted)
        if any(hit.doc.id in relevant and hit.doc.summary for hit in reply.results):
            quotable += 1
            quotable_relevant += any(doc in relevant for doc in quoted)
        before = [hit.doc.id for hit in reply.results[:3] if hit.doc.summary]
        if before:
            before_precisions.append(sum(doc in relevant for doc in before) / len(before))
        before_relevant += any(doc in relevant for doc in before)
    mean = lambda values: sum(values) / len(values) if values else 0.0  # noqa: E731
    return {"on-topic": on, "off-topic": off, "precision": mean(precisions),
            "quotes relevant": quotes_relevant / max(on, 1), "quotable": quotable,
            "quotes relevant (of quotable)": quotable_relevant / max(quotable, 1),
            "on-topic answered": on_answered / max(on, 1),
            "off-topic not answered": off_quiet / max(off, 1), "precision (before)": mean(before_precisions),
            "quotes relevant (before)": before_relevant / max(on, 1)}


def grid(rows: list[tuple[dict, Answer, list]], base: Bars) -> list[dict]:
    """Every combination of GRID's bars (the rest as in `base`) with its scores, best first: all off-topic
    quiet and all on-topic answered first, then precision, then quotes-relevant."""
    table = []
    for values in itertools.product(*GRID.values()):
        bars = replace(base, **dict(zip(GRID, values, strict=True)))
        table.append({**dict(zip(GRID, values, strict=True)), **measure(rows, bars)})
    return sorted(table, key=lambda r: (-min(r["off-topic not answered"], r["on-topic answered"]),
                                        -(r["precision"] + r["quotes relevant"]), -r["precision"]))


def format_table(tables: dict[str, dict[str, float]]) -> str:
    names = list(tables)
    lines = [f"{'':<28}" + "".join(f"{name:>10}" for name in names)]
    for key in next(iter(tables.values())):
        cells = "".join(f"{tables[n][key]:>10.3f}" if isinstance(tables[n][key], float) else f"{tables[n][key]:>10}"
                        for n in names)
        lines.append(f"{key:<28}{cells}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(HERE))
    from evaluate import bundled_index

    from rag.chat.answer import bars_for
    from rag.search.retriever import Retriever
    from rag.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=[*SPLITS, "both"], default="both", help="which questions (default both)")
    parser.add_argument("--grid", action="store_true", help="re-run the bars' grid on the tune split only")
    parser.add_argument("--corpus", type=Path, default=HERE.parent / "corpus")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    index, encoder = bundled_index(args.corpus)
    retriever = Retriever(index, encoder, Settings.from_env())
    bars, _ = bars_for(retriever.model)  # the bars in use for this model (RAG_MODEL picks it)
    if args.grid:
        rows = grid(searched(retriever, load_split("tune")), bars)
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            for row in rows[:15]:  # `*`: the bars in use (eval/README.md says why they need not top the grid)
                mark = "*" if all(getattr(bars, k) == row[k] for k in GRID) else " "
                print(mark, "  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        return 0
    names = list(SPLITS) if args.split == "both" else [args.split]
    tables = {name: measure(searched(retriever, load_split(name)), bars) for name in names}
    print(json.dumps(tables, indent=2) if args.json else format_table(tables))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    sys.exit(main())
