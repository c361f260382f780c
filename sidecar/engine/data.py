"""The engine's bundled data files (sidecar/data/*.toml): read once, checked where read.

A bundled file that does not parse, or a table that breaks its rules, is a `ConfigError`
naming the file and the key: raised when the module that owns the table is first imported,
so a broken build fails at startup, never in the middle of a conversation.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any

from sidecar.errors import ConfigError


def read_toml(name: str, text: str | None = None) -> Mapping[str, Any]:
    """sidecar/data/`name` parsed (or `text`, as if it were that file: for tests).

    A bundled file is parsed once per process (several modules read words.toml); callers
    only read the tables, never change them."""
    if text is None:
        return _bundled(name)
    return _loads(name, text)


@functools.cache
def _bundled(name: str) -> Mapping[str, Any]:
    try:
        text = resources.files("sidecar").joinpath("data", name).read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"sidecar/data/{name}: cannot read: {exc}") from exc
    return _loads(name, text)


def _loads(name: str, text: str) -> Mapping[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"sidecar/data/{name}: not valid TOML: {exc}") from exc


def word_list(data: Mapping[str, Any], file: str, key: str) -> tuple[str, ...]:
    """`key` as a non-empty list of lowercase one-word strings."""
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise ConfigError(f"sidecar/data/{file}: {key}: must be a non-empty list of words")
    for i, word in enumerate(value):
        if not isinstance(word, str) or not word or word != word.strip().lower() or " " in word:
            raise ConfigError(f"sidecar/data/{file}: {key}[{i}]: must be one lowercase word, got {word!r}")
    return tuple(value)


def word_map(data: Mapping[str, Any], file: str, key: str) -> Mapping[str, str]:
    """`key` as a non-empty table of lowercase word → lowercase word."""
    value = data.get(key)
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"sidecar/data/{file}: {key}: must be a non-empty table of words")
    for k, v in value.items():
        if not isinstance(v, str) or not v or k != k.lower() or v != v.lower():
            raise ConfigError(f"sidecar/data/{file}: {key}.{k}: must map a lowercase word to one, got {v!r}")
    return dict(value)


def number_map(data: Mapping[str, Any], file: str, key: str) -> Mapping[str, int]:
    """`key` as a non-empty table of lowercase word → whole number from 1 to 1,000."""
    value = data.get(key)
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"sidecar/data/{file}: {key}: must be a non-empty table of words")
    for k, v in value.items():
        if k != k.lower() or " " in k or type(v) is not int or not 0 < v <= 1_000:
            raise ConfigError(
                f"sidecar/data/{file}: {key}.{k}: must map a lowercase word to a number 1–1000, got {v!r}"
            )
    return dict(value)


def phrase_lists(
    data: Mapping[str, Any], file: str, key: str, keys: tuple[str, ...], *, min_lines: int = 1
) -> dict[str, tuple[str, ...]]:
    """`key` as a table with exactly `keys`, each a list of at least `min_lines` non-empty
    strings; keys and lines in file order (where the order means something, the file says so)."""
    table = data.get(key)
    if not isinstance(table, dict):
        raise ConfigError(f"sidecar/data/{file}: {key}: must be a table of {', '.join(keys)}")
    for extra in sorted(set(table) - set(keys)):
        raise ConfigError(f"sidecar/data/{file}: {key}.{extra}: unknown key; expected {', '.join(keys)}")
    for k in keys:
        lines = table.get(k)
        if not isinstance(lines, list) or len(lines) < min_lines or not all(
            isinstance(x, str) and x.strip() for x in lines
        ):
            raise ConfigError(
                f"sidecar/data/{file}: {key}.{k}: must be a list of at least {min_lines} non-empty strings"
            )
    return {k: tuple(v) for k, v in table.items()}


__all__ = ["phrase_lists", "read_toml", "word_list", "word_map"]
