"""The conversation's stored state: typed, versioned, serialized here and nowhere else.

The store keeps it in `conversations.memory` as a JSON object; `ConversationState.from_json`
reads it back and `to_json` writes it. Both ends are in this module so the shape has one home.

    {"v": 2,
     "player_name": "Ana" | null,           # the display name the game gave at start
     "engine": {"player_name": ..., "likes": [{"what", "verb", "turn"}], ...},
     "arc_episode": "bonding" | null,
     "options": [{"text", "intent"}],        # the options the game was last shown
     "options_round": 0,
     "offered": [["text", ...], ...],        # options of this turn and the 3 before, oldest first
     "introduced": false}                    # an "I'm Ana, by the way" option was offered

Version 1 (databases written before this module) was one flat bag: the embedded engine's keys
(`player_name` then meant the name the player told the NPC) beside the pipeline's
`_arc_episode`, `_last_options` and `_options_round`. It is read as is and written back as
version 2 on the next turn. Unknown v1 keys are dropped.

Reading is forgiving field by field: a value of the wrong type becomes that field's default,
so a hand-edited or half-written row degrades to "the NPC forgot", never to a failed turn. A
version newer than this code knows is refused (`StoreError`): silently dropping a newer
sidecar's fields would lose them on the next write.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import repeat
from types import MappingProxyType
from typing import Any

from sidecar.engine.arc import Arc, coerce
from sidecar.errors import StoreError

STATE_VERSION = 2
"""The version `to_json` writes. Bump it (and teach `from_json` the old shape) on any change."""
OFFERED_TURNS = 3
"""Answer options offered on any of this many recent turns are not offered again."""


@dataclass(frozen=True)
class Option:
    """An answer option as offered to the player (and stored, so `conversation.choose` can
    say the one the game showed)."""

    text: str
    intent: str
    """`ask`, `share`, `leave` at least; `topic`, `flirt`, `apologize`… allowed."""


@dataclass(frozen=True)
class Preference:
    """Something the player said they like or dislike, in second person ("walking your dog")."""

    what: str
    verb: str
    """As the player put it: `like`, `love`, `hate`, `don't like`, `can't stand`…"""
    turn: int
    """The turn it was learned on (the engine brings it up on a later one)."""


@dataclass(frozen=True)
class EngineMemory:
    """What the embedded engine learned and said, carried from turn to turn."""

    player_name: str | None = None
    """The name the player told the NPC ("I'm Ana")."""
    likes: tuple[Preference, ...] = ()
    dislikes: tuple[Preference, ...] = ()
    recalled: tuple[str, ...] = ()
    """Likes/dislikes (their `what`) the NPC has already brought up."""
    said: tuple[str, ...] = ()
    """Normalised keys of the NPC's recent lines (the no-repeat window)."""
    cores: tuple[str, ...] = ()
    """Normalised keys of recent reply cores, least recently used first (line rotation)."""
    topics: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """How often each persona topic was talked about."""
    asked_name: bool = False
    quirk_turn: int = -10
    """The last turn a speech quirk was used (quirks skip a turn)."""
    hook_turn: int = -10
    """The last turn the NPC suggested a topic."""

    def to_json(self) -> dict[str, Any]:
        return {
            "player_name": self.player_name,
            "likes": [_pref_json(p) for p in self.likes],
            "dislikes": [_pref_json(p) for p in self.dislikes],
            "recalled": list(self.recalled),
            "said": list(self.said),
            "cores": list(self.cores),
            "topics": dict(self.topics),
            "asked_name": self.asked_name,
            "quirk_turn": self.quirk_turn,
            "hook_turn": self.hook_turn,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> EngineMemory:
        """The engine's part; the same keys in v1 (top level) and v2 (under "engine")."""
        name = raw.get("player_name")
        topics = raw.get("topics")
        return cls(
            player_name=name if isinstance(name, str) and name else None,
            likes=_prefs(raw.get("likes")),
            dislikes=_prefs(raw.get("dislikes")),
            recalled=_strs(raw.get("recalled")),
            said=_strs(raw.get("said")),
            cores=_strs(raw.get("cores")),
            topics=MappingProxyType(
                {k: v for k, v in topics.items() if isinstance(k, str) and _is_int(v)}
                if isinstance(topics, dict)
                else {}
            ),
            asked_name=raw.get("asked_name") is True,
            quirk_turn=_int(raw.get("quirk_turn"), -10),
            hook_turn=_int(raw.get("hook_turn"), -10),
        )


@dataclass(frozen=True)
class ConversationState:
    """Everything a conversation carries between turns besides its lines and its goal."""

    engine: EngineMemory = field(default_factory=EngineMemory)
    arc_episode: Arc | None = None
    """The emotional arc episode in progress (its bonus is paid once per episode)."""
    options: tuple[Option, ...] = ()
    """The answer options the game was last shown."""
    options_round: int = 0
    """How many times `options.generate` re-rolled them since the last turn."""
    player_name: str | None = None
    """The player's display name as the game gave it at `conversation.start`, if it did."""
    offered: tuple[tuple[str, ...], ...] = ()
    """The option texts offered on the current turn and each of the `OFFERED_TURNS` before it,
    oldest first (a re-roll's options count with their turn's): none is offered again meanwhile."""
    introduced: bool = False
    """Whether an option that introduces the player ("I'm Ana, by the way") was offered: it
    is offered at most once per conversation."""
    version: int = STATE_VERSION
    """The shape of this object: always `STATE_VERSION` once read (older rows are upgraded
    by `from_json`); written as "v"."""

    def offer(self, options: Sequence[Option], *, introduces: bool, reroll: bool = False) -> ConversationState:
        """The state once `options` are shown: the game's current options, and the recent ones
        (a new turn's round, or added to the current round for a re-roll)."""
        texts = tuple(o.text for o in options)
        if reroll and self.offered:
            rounds = (*self.offered[:-1], self.offered[-1] + texts)
        else:
            rounds = (*self.offered, texts)[-(OFFERED_TURNS + 1) :]
        return replace(self, options=tuple(options), offered=rounds, introduced=self.introduced or introduces)

    @cached_property
    def recently_offered(self) -> frozenset[str]:
        """Every option text offered on this turn and the `OFFERED_TURNS` before it."""
        return frozenset(text for round_ in self.offered for text in round_)

    @property
    def known_name(self) -> str | None:
        """The player's name as far as the NPC knows it: told in the talk, else given by the game."""
        return self.engine.player_name or self.player_name

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (the store dumps it); always the current version."""
        return {
            "v": STATE_VERSION,
            "player_name": self.player_name,
            "engine": self.engine.to_json(),
            "arc_episode": self.arc_episode.value if self.arc_episode else None,
            "options": [{"text": o.text, "intent": o.intent} for o in self.options],
            "options_round": self.options_round,
            "offered": [list(r) for r in self.offered],
            "introduced": self.introduced,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | str | bytes | None) -> ConversationState:
        """Any stored version (a dict, or its JSON text). Raises StoreError for text that is
        not a JSON object or a version newer than `STATE_VERSION`."""
        if raw is None:
            return cls()
        if isinstance(raw, str | bytes):
            try:
                raw = json.loads(raw)
            except ValueError as exc:
                raise StoreError("stored conversation state is not JSON") from exc
        if not isinstance(raw, Mapping):
            raise StoreError("stored conversation state is not a JSON object")
        version = raw.get("v")
        if isinstance(version, int) and not isinstance(version, bool) and version > STATE_VERSION:
            raise StoreError(
                f"stored conversation state is version {version}; this sidecar reads up to {STATE_VERSION}",
                details={"version": version},
            )
        if version == STATE_VERSION:
            engine = raw.get("engine")
            name = raw.get("player_name")
            return cls(
                engine=EngineMemory.from_json(engine if isinstance(engine, Mapping) else {}),
                arc_episode=coerce(raw.get("arc_episode")),
                options=_options(raw.get("options")),
                options_round=max(0, _int(raw.get("options_round"), 0)),
                player_name=name if isinstance(name, str) and name else None,
                offered=_rounds(raw.get("offered")),
                introduced=raw.get("introduced") is True,
            )
        return cls._from_v1(raw)

    @classmethod
    def _from_v1(cls, raw: Mapping[str, Any]) -> ConversationState:
        return cls(
            engine=EngineMemory.from_json(raw),
            arc_episode=coerce(raw.get("_arc_episode")),
            options=_options(raw.get("_last_options")),
            options_round=max(0, _int(raw.get("_options_round"), 0)),
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _strs(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    # The stored lists are all strings but for a hand-edited row: check them in C first
    # (these lists are read on every turn), filter item by item only when one is not.
    if all(map(isinstance, value, repeat(str))):
        return tuple(value)
    return tuple(v for v in value if isinstance(v, str))


def _prefs(value: object) -> tuple[Preference, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        Preference(v["what"], str(v.get("verb", "like")), _int(v.get("turn", 0), 0))
        for v in value
        if isinstance(v, dict) and isinstance(v.get("what"), str) and _is_int(v.get("turn", 0))
    )


def _pref_json(p: Preference) -> dict[str, Any]:
    return {"what": p.what, "verb": p.verb, "turn": p.turn}


def _rounds(value: object) -> tuple[tuple[str, ...], ...]:
    if not isinstance(value, list):
        return ()
    return tuple(_strs(r) for r in value if isinstance(r, list))[-(OFFERED_TURNS + 1) :]


def _options(value: object) -> tuple[Option, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        Option(v["text"], str(v.get("intent", "")))
        for v in value
        if isinstance(v, dict) and isinstance(v.get("text"), str)
    )


__all__ = ["OFFERED_TURNS", "STATE_VERSION", "ConversationState", "EngineMemory", "Option", "Preference"]
