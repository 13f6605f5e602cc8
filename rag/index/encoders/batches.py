"""Texts into vectors batch by batch, longest first: the batching both encoders share.

Sorting by length, as sentence-transformers does inside one call, keeps each batch tightly padded, so
throughput matches a single call while a progress bar moves per batch.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rag.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

#: What an encoder's `progress` may be: False (quiet), True (our tqdm bar on stderr counting documents), or a
#: function called with each batch's size once it is embedded (a caller's own bar).
Progress = bool | Callable[[int], None]


def encode_by_length(texts: Sequence[str], encode_batch: Callable[[list[str]], np.ndarray], *, dimension: int,
                     batch_size: int, progress: Progress = False) -> np.ndarray:
    """Embed `texts` in batches of similar length.

    Args:
        texts: the texts, in the caller's order.
        encode_batch: embeds one batch, returning a (len(batch), dimension) array.
        dimension: the vectors' dimension.
        batch_size: texts per batch, at least 1.
        progress: see `Progress`.

    Returns:
        A (len(texts), dimension) float32 array, row i for texts[i].

    Raises:
        ModelError: when batch_size is below 1.
    """
    import numpy as np

    if batch_size < 1:
        raise ModelError(f"batch_size must be at least 1, got {batch_size}")
    out = np.empty((len(texts), dimension), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    bar, step = None, progress if callable(progress) else None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=len(texts), unit="doc", desc="embedding", file=sys.stderr, dynamic_ncols=True)
        step = bar.update
    try:
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            out[rows] = encode_batch([texts[i] for i in rows])
            if step is not None:
                step(len(rows))
    finally:
        if bar is not None:
            bar.close()
    return out
