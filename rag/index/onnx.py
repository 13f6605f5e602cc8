"""The onnxruntime seam: a torch-free encoder over an exported model folder, giving the same unit-length
float32 vectors as sentence-transformers (mean pooling over the attention mask, then L2 normalisation).

An exported folder (written by `rag.index.encoder.export_onnx`) holds `model.onnx` (the transformer,
output `last_hidden_state`), `tokenizer.json` and `onnx.json` (the settings below). This is the only
module that imports onnxruntime and tokenizers; importing it or encoding never imports torch.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "onnx.json"

#: Sentences shaped like this archive's questions, titles and summaries (short and long, dates, names in
#: several scripts, punctuation, one past the 256-token limit) on which an export must match torch.
CHECK_TEXTS: tuple[str, ...] = (
    "How did Beijing react to the 1963 treaty limiting nuclear tests?",
    "Chinese premier warning that the nuclear powers would bully small nations",
    "Khrushchev's letter to Mao about the withdrawal of Soviet specialists",
    "Romania's position in the Sino-Soviet split",
    "What did Zhou Enlai tell the Albanian delegation in 1964?",
    "Soviet ambassador's conversation with Liu Shaoqi",
    "border clashes on Zhenbao (Damansky) Island, March 1969",
    "Cuban missile crisis",
    "Minutes of the meeting of the Presidium of the CC CPSU, 14 October 1964",
    "Telegram from the Hungarian Embassy in Beijing on the Cultural Revolution",
    "Memorandum of conversation between Mao Zedong and Pavel Yudin",
    "Did the Vietnamese leadership take sides between Moscow and Beijing?",
    "Record of a conversation of N.S. Khrushchev with Mao Zedong, Beijing, 2 October 1959.",
    "The Chinese side stated that the Soviet comrades had violated the principle of equality among parties.",
    "Report on the Warsaw Pact Political Consultative Committee meeting in Bucharest",
    "Polish United Workers' Party assessment of the Chinese position on peaceful coexistence",
    "East German diplomats describe Red Guard demonstrations outside the Soviet embassy.",
    "nuclear sharing agreement 1957 cancelled",
    "Who was Kang Sheng?",
    "Tito and the non-aligned movement",
    "Letter of the Central Committee of the Communist Party of China to the CC CPSU, 14 June 1963",
    "Open letter of the CPSU Central Committee to party organisations and all communists of the Soviet Union",
    "Mongolian People's Republic requests Soviet troops after clashes with China",
    "Ho Chi Minh visits Moscow and Beijing seeking mediation",
    "The Albanian Party of Labour sided with Beijing against the Soviet leadership in 1961.",
    "economic aid, loans and the recall of experts in July 1960",
    "ideological polemics: the 'Nine Commentaries'",
    "What happened at the Moscow conference of 81 communist parties in November 1960?",
    "Indian-Chinese border war of 1962 and Soviet neutrality",
    "North Korea between the USSR and the PRC",
    "Brezhnev doctrine and Chinese denunciations of 'social-imperialism'",
    "Kissinger's secret trip to Beijing, July 1971",
    "Soviet reaction to the Sino-American rapprochement",
    "Czechoslovakia 1968",
    "Dokument: Information über die Lage in der Volksrepublik China (SED, 1967)",
    "Беседа Н. С. Хрущева с Мао Цзэдуном",
    "毛泽东与赫鲁晓夫会谈记录",
    "Rapport de l'ambassade de France à Pékin sur la rupture sino-soviétique",
    "Ministerstwo Spraw Zagranicznych: notatka z rozmowy z ambasadorem ChRL",
    "1960-06-24",
    "?",
    "the",
    "Summary: The document reports on talks between delegations; the sides exchanged views on the "
    "international communist movement, the struggle against imperialism, and disagreements over tactics.",
    "Mao Zedong declared that the atomic bomb is a paper tiger and that China would not fear a nuclear war.",
    "Translation of a Chinese government statement on the partial test ban treaty, August 1963",
    "Intelligence estimate: prospects for the Sino-Soviet relationship over the next five years",
    "Record of conversation between the Soviet ambassador S.V. Chervonenko and Deng Xiaoping on ideological "
    "questions, with annexes; numbers 1, 2, 3; dates 1962-1963; places: Beijing, Moscow, Shanghai.",
    "Kosygin and Zhou Enlai meet at Beijing airport, 11 September 1969",
    "Why did the Soviet Union withdraw its specialists from China?",
    " ".join(["The delegation discussed the situation in the socialist camp, the border question, trade, "
              "and the polemics between the two parties in great detail."] * 12),
)


@dataclass(frozen=True)
class OnnxSettings:
    """What `onnx.json` records: what the encoder needs to tokenise and pool like sentence-transformers,
    and where the export came from (model, weights fingerprint, library versions, verified cosine)."""

    model: str
    fingerprint: str
    dimension: int
    max_seq_length: int
    pad_id: int
    pad_token: str
    input_names: tuple[str, ...]
    pooling: str = "mean"
    do_lower_case: bool = False
    optimized: bool = False
    min_cosine: float | None = None
    #: The weight files' sizes and times when exported (`encoder.weights_signature`): finds this export for
    #: an unchanged model without hashing its ~90 MB of weights.
    model_files: dict[str, list[int]] | None = None
    versions: dict[str, str] = field(default_factory=dict)

    def write(self, folder: Path) -> None:
        """Write onnx.json atomically (a reader never sees half a file, even when a cached export's
        weights signature is refreshed while another process reads it)."""
        import os

        data = {**asdict(self), "input_names": list(self.input_names)}
        temp = Path(folder) / f".{META_FILE}.{os.getpid()}-{threading.get_ident()}"
        temp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(temp, Path(folder) / META_FILE)

    @classmethod
    def read(cls, folder: Path) -> OnnxSettings:
        path = Path(folder) / META_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data["input_names"] = tuple(data["input_names"])
            return cls(**data)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise ModelError(f"cannot read ONNX model settings {path}: {exc}") from exc


def optimize(path: Path, *, num_heads: int, hidden_size: int) -> bool:
    """Fuse attention/layer-norm/GELU in place with onnxruntime's transformer optimizer (offline; lifted
    batch throughput from about 0.85x to 1.15x torch, issue 9). False when it cannot run on this graph."""
    from onnxruntime.transformers.optimizer import optimize_model

    try:
        optimized = optimize_model(str(path), model_type="bert", num_heads=num_heads, hidden_size=hidden_size)
        optimized.save_model_to_file(str(path))
    except Exception:  # noqa: BLE001 - an unoptimised graph is still correct; the check decides
        return False
    return True


def library_versions() -> dict[str, str]:
    """Versions of the runtime libraries, recorded with an export."""
    import onnxruntime
    import tokenizers

    return {"onnxruntime": onnxruntime.__version__, "tokenizers": tokenizers.__version__}


class OnnxEncoder:
    """Encodes like `rag.index.encoder.Encoder` (same `name`, `dimension`, `fingerprint`, `encode`) from an
    exported folder, with onnxruntime; safe to call from several threads at once."""

    def __init__(self, folder: str | Path, *, threads: int | None = None, name: str | None = None):
        """`name`: the model's name as the caller knows it (default: the name it was exported under, which is
        the first name the weights were used with: a path and an alias share one export)."""
        if threads is None:
            from rag.settings import Settings

            threads = Settings.from_env().encoder_threads
        if threads < 1:
            raise ModelError(f"ONNX intra-op threads must be at least 1, got {threads}")
        self.folder = Path(folder)
        self.settings = OnnxSettings.read(self.folder)
        self.name = name or self.settings.model
        self.fingerprint = self.settings.fingerprint
        self.dimension = self.settings.dimension
        self.threads = threads
        # The Rust tokenizer is shared; a lock keeps its padding/truncation state out of concurrent calls.
        self._tokenizer_lock = threading.Lock()
        self._init_lock = threading.Lock()

    @cached_property
    def _session(self):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            return ort.InferenceSession(str(self.folder / MODEL_FILE), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - a missing or corrupt graph means the same to the user
            raise ModelError(f"cannot load ONNX model {self.folder / MODEL_FILE}: {exc}") from exc

    @cached_property
    def _tokenizer(self):
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(self.folder / TOKENIZER_FILE))
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"cannot load tokenizer {self.folder / TOKENIZER_FILE}: {exc}") from exc
        # Override what the file says (the bundled one pads every text to 128 and truncates at 128):
        # truncate at the model's max_seq_length and pad to the longest text of the batch, as ST does.
        tokenizer.enable_truncation(max_length=self.settings.max_seq_length)
        tokenizer.enable_padding(pad_id=self.settings.pad_id, pad_token=self.settings.pad_token)
        return tokenizer

    def load(self) -> OnnxEncoder:
        """Open the session and tokenizer now (otherwise on first encode); returns self."""
        with self._init_lock:
            self._session, self._tokenizer  # noqa: B018 - touching the cached properties loads them
        return self

    def encode(self, texts: list[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Embed texts as an (n, dimension) float32 array of unit-length rows; `progress` shows a tqdm
        bar on stderr counting documents. Texts are sorted by length into batches, as sentence-transformers
        does, so each batch pads little."""
        import numpy as np

        if batch_size < 1:
            raise ModelError(f"batch_size must be at least 1, got {batch_size}")
        self.load()
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), unit="doc", desc="embedding", file=sys.stderr, dynamic_ncols=True)
        try:
            for start in range(0, len(order), batch_size):
                rows = order[start:start + batch_size]
                out[rows] = self._encode_batch([texts[i] for i in rows])
                if bar is not None:
                    bar.update(len(rows))
        finally:
            if bar is not None:
                bar.close()
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        if self.settings.do_lower_case:
            texts = [text.lower() for text in texts]
        with self._tokenizer_lock:
            encodings = self._tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        feeds = {name: feeds[name] for name in self.settings.input_names}
        (hidden,) = self._session.run(["last_hidden_state"], feeds)
        return pool(hidden, feeds["attention_mask"])


def pool(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Mean of the token vectors under the attention mask, then L2-normalised: sentence-transformers'
    Pooling(mean) + normalize_embeddings, as `Encoder` asks for (same 1e-9 and 1e-12 guards)."""
    import numpy as np

    mask = attention_mask[..., None].astype(np.float32)
    summed = (hidden.astype(np.float32) * mask).sum(axis=1)
    vectors = summed / np.maximum(mask.sum(axis=1), 1e-9)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors.astype(np.float32, copy=False)


def save_tokenizer(tokenizer_json: str, path: Path, *, max_seq_length: int, pad_id: int, pad_token: str) -> None:
    """Write a fast tokenizer (its JSON) to `path`, truncating at `max_seq_length` and padding to the
    longest text, so the file alone tokenises as sentence-transformers does."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(tokenizer_json)
    tokenizer.enable_truncation(max_length=max_seq_length)
    tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
    tokenizer.save(str(path))
