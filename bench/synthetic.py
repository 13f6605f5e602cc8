"""A synthetic corpus shaped like the real one, for the rebuild benchmark and crash tests.

Records recombine the words of real titles and summaries, so texts have the real corpus's vocabulary
and length spread; dates vary in precision like the archive's. Deterministic for a given seed.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from rag.documents.corpus import load_corpus
from rag.settings import Settings


def synthetic_records(count: int, seed: int = 0, source: Path | None = None) -> list[dict]:
    """`count` JSON Lines records (the corpus's record format) built from the words of `source`
    (default: the bundled corpus); about one in ten has no summary, as in the archive."""
    rng = random.Random(seed)
    real = load_corpus(source or Settings().corpus_dir).documents
    titles = [d.title.split() for d in real]
    summaries = [d.summary.split() for d in real if d.summary]
    records = []
    for number in range(count):
        title = rng.choice(titles)
        record = {
            "date": _date(rng),
            "title": " ".join(rng.sample(title, len(title))) + f" [No. {number}]",
            "collection": "Synthetic Sino-Soviet Split",
        }
        if rng.random() > 0.1:
            words = rng.choice(summaries)
            record["summary"] = " ".join(rng.choices(words, k=max(8, int(len(words) * rng.uniform(0.5, 1.5)))))
        records.append(record)
    return records


def write_synthetic(path: Path, count: int, seed: int = 0) -> Path:
    """Write `count` synthetic records as a `.jsonl` corpus file and return its path."""
    lines = (json.dumps(record, ensure_ascii=False) for record in synthetic_records(count, seed))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _date(rng: random.Random) -> str:
    year = rng.randint(1960, 1984)
    precision = rng.random()
    if precision < 0.1:
        return str(year)
    if precision < 0.2:
        return f"{year}-{rng.randint(1, 12):02d}"
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
