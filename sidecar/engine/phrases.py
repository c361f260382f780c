"""The embedded engine's phrase tables: sidecar/data/phrases.toml (replies),
sidecar/data/options.toml (answer options) and sidecar/data/scene.toml (NPC to NPC in a
scene), checked against `PHRASE_TABLES` (the one spec, in sidecar/personas/model.py) and
extended per persona by its `[phrases]`.

`BUNDLED` is loaded at import. A missing or unknown table, a missing voice or key, an empty
list, an unknown placeholder, or a line that breaks a table's own rule (an option outside
5–10 words, a `leave` option that does not read as a goodbye, fewer change-of-subject lines
than the no-repeat window) is a `ConfigError` naming the file and the key.

Lines keep their file order, which is part of determinism: the engine picks by index from a
seeded rng, so the same seed picks the same line as long as the tables are the same. A
persona's lines come after the bundled ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sidecar.engine.data import read_toml
from sidecar.engine.reading import read
from sidecar.errors import ConfigError
from sidecar.personas.model import PHRASE_TABLES, PRESETS, Persona, PhraseTable, phrase_problem

VOICES = PRESETS
"""The voices a voiced table has one list for."""
OPTION_WORDS = (5, 10)
"""Every option has between 5 and 10 words (seed §2)."""
FILES = ("phrases.toml", "options.toml", "scene.toml")

Key = tuple[str, ...]


class Phrases:
    """Every table's lines, by (table, voice?, key?)."""

    def __init__(self, lines: Mapping[Key, tuple[str, ...]]) -> None:
        self._lines = lines

    def __call__(self, table: str, *key: str) -> tuple[str, ...]:
        """The lines of `table` for `key` (voice, then sub-key, as the table has them).
        KeyError for a table or key the spec does not have (a caller bug)."""
        return self._lines[(table, *key)]

    def keys(self) -> list[Key]:
        return list(self._lines)


def _keys(table: PhraseTable) -> list[tuple[str, ...]]:
    voices: list[tuple[str, ...]] = [(v,) for v in VOICES] if table.voiced else [()]
    return [(*v, *((k,) if k else ())) for v in voices for k in (table.keys or ("",))]


def _check_rule(name: str, text: str) -> str | None:
    """A table's own rule beyond placeholders."""
    if PHRASE_TABLES[name].file == "options.toml":
        n = len(text.split())
        if not OPTION_WORDS[0] <= n <= OPTION_WORDS[1]:
            return f"an option has {OPTION_WORDS[0]}–{OPTION_WORDS[1]} words, this has {n}"
        if name == "leave" and not read(text).goodbye:
            return "a leave option must read as a goodbye"
    return None


def _lines_at(data: Mapping[str, Any], file: str, name: str, key: Key) -> tuple[str, ...]:
    where = ".".join((name, *key))
    node: Any = data.get(name)
    for k in key:
        node = node.get(k) if isinstance(node, dict) else None
    if node is None:
        raise ConfigError(f"sidecar/data/{file}: {where}: missing")
    table = PHRASE_TABLES[name]
    if not isinstance(node, list) or not all(isinstance(x, str) and x.strip() for x in node):
        raise ConfigError(f"sidecar/data/{file}: {where}: must be a list of non-empty strings")
    if not table.min_lines <= len(node) <= table.max_lines:
        raise ConfigError(
            f"sidecar/data/{file}: {where}: needs {table.min_lines}–{table.max_lines} lines, has {len(node)}"
        )
    for i, text in enumerate(node):
        why = phrase_problem(table, text) or _check_rule(name, text)
        if why is not None:
            raise ConfigError(f"sidecar/data/{file}: {where}[{i}]: {why}")
    return tuple(node)


def _unexpected(data: Mapping[str, Any], file: str, name: str) -> None:
    """Keys the spec does not have: a typo would otherwise be silently ignored."""
    table = PHRASE_TABLES[name]
    nodes: list[tuple[str, Any]] = [(name, data[name])]
    levels = ([VOICES] if table.voiced else []) + ([table.keys] if table.keys else [])
    for allowed in levels:
        below: list[tuple[str, Any]] = []
        for where, node in nodes:
            for extra in sorted(set(node) - set(allowed)):
                raise ConfigError(
                    f"sidecar/data/{file}: {where}.{extra}: unknown key; expected {', '.join(allowed)}"
                )
            below += [(f"{where}.{k}", node[k]) for k in allowed]
        nodes = below


def load(texts: Mapping[str, str] | None = None) -> Phrases:
    """Read and check every phrase table (`texts`: file name → TOML text, for tests)."""
    lines: dict[Key, tuple[str, ...]] = {}
    for file in FILES:
        data = read_toml(file, None if texts is None else texts[file])
        names = {n for n, t in PHRASE_TABLES.items() if t.file == file}
        for unknown in sorted(set(data) - names):
            raise ConfigError(f"sidecar/data/{file}: {unknown}: no such phrase table")
        for name in sorted(names):
            for key in _keys(PHRASE_TABLES[name]):
                lines[(name, *key)] = _lines_at(data, file, name, key)
            _unexpected(data, file, name)
    return Phrases(lines)


BUNDLED = load()

_CACHE: dict[int, tuple[Persona, Phrases]] = {}
_CACHE_MAX = 256


def for_persona(persona: Persona) -> Phrases:
    """The bundled tables with `persona.phrases` added (cached per persona object; personas
    are immutable once loaded and validated against the same spec)."""
    if not persona.phrases:
        return BUNDLED
    hit = _CACHE.get(id(persona))
    if hit is not None and hit[0] is persona:
        return hit[1]
    lines = {k: BUNDLED(*k) for k in BUNDLED.keys()}
    for name, added in persona.phrases.items():
        for key in _keys(PHRASE_TABLES[name]):
            extra = added.get(key[-1], []) if isinstance(added, dict) else added
            if extra:
                lines[(name, *key)] = (*lines[(name, *key)], *extra)
    merged = Phrases(lines)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[id(persona)] = (persona, merged)
    return merged


__all__ = ["BUNDLED", "OPTION_WORDS", "VOICES", "Phrases", "for_persona", "load"]
