"""Every bot text comes from texts/<language>.yaml; `TEXT_KEYS` lists the keys both files must have."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

LANGUAGES = ("de", "en")
DIRECTORY = Path(__file__).with_name("texts")


@functools.cache
def _load(language: str) -> dict[str, str]:
    data = yaml.safe_load((DIRECTORY / f"{language}.yaml").read_text(encoding="utf-8"))
    return {str(k): " ".join(str(v).split()) for k, v in data.items()}


def keys(language: str) -> frozenset[str]:
    return frozenset(_load(language))


def text(language: str, key: str, **params: object) -> str:
    """The template `key` in `language` ("de" for anything else), formatted with `params`.

    Raises:
        KeyError: the key is missing (a test guarantees both files have every key).
    """
    return _load(language if language in LANGUAGES else "de")[key].format(**params)
