"""Embeddings cached on disk, keyed by SHA-256 of (encoder name, text): only new texts are embedded."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import structlog

from .encoder import Encoder, Vectors

log = structlog.get_logger(__name__)


def _key(encoder: str, text: str) -> str:
    return hashlib.sha256(f"{encoder}\0{text}".encode()).hexdigest()


class EmbeddingCache:
    """An .npz file under `directory`; `embed` is safe from several threads (the retriever's index build
    and the knowledge store embed on the retrieval pool)."""

    def __init__(self, encoder: Encoder, directory: Path | None) -> None:
        self._encoder = encoder
        self._path = directory / f"embeddings-{encoder.name}.npz" if directory else None
        self._vectors: dict[str, Vectors] = {}
        self._lock = threading.Lock()
        if self._path is not None and self._path.is_file():
            try:
                with np.load(self._path) as stored:
                    self._vectors = {key: stored[key] for key in stored.files}
            except (OSError, ValueError):
                log.warning("embedding cache unreadable, rebuilding", path=str(self._path))

    @property
    def encoder(self) -> Encoder:
        return self._encoder

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Vectors for `texts` in order; computes and stores the missing ones."""
        keys = [_key(self._encoder.name, t) for t in texts]
        with self._lock:
            return self._embed(keys, texts)

    def _embed(self, keys: list[str], texts: Sequence[str]) -> Vectors:
        missing = sorted({(k, t) for k, t in zip(keys, texts, strict=True) if k not in self._vectors})
        if missing:
            vectors = self._encoder.encode([t for _, t in missing])
            self._vectors.update({k: v for (k, _), v in zip(missing, vectors, strict=True)})
            self._save()
        if not keys:
            return np.zeros((0, 512), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys])

    def _save(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, suffix=".npz")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **self._vectors)  # type: ignore[arg-type]  # numpy's stub types **kwds as bool
        os.replace(tmp, self._path)
