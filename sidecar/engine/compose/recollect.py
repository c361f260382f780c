"""The embedded engine's use of long-term memory (sidecar/engine/recollect.py ranks it).

- A returning player is greeted by the name the NPC remembers, and a promise from an earlier
  meeting (the player's or the NPC's own) is brought up in the greeting.
- "Do you remember me?" is answered with the best-ranked memory.
- A memory relevant to the player's line (it shares a word with it) and not brought up yet in
  this conversation is mentioned once, after the reply's core.

The phrases are data (sidecar/data/memory.toml `[phrases.*]`), one list per voice.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence

from sidecar.engine.compose.call import Call
from sidecar.engine.compose.memory import WorkingMemory
from sidecar.engine.data import phrase_lists, read_toml
from sidecar.engine.phrases import VOICES
from sidecar.engine.recollect import Recollection
from sidecar.engine.remember import spoken
from sidecar.errors import ConfigError

_FILE = "memory.toml"
_TABLES = ("welcome_back", "promise_player", "promise_npc", "remember", "remember_nothing")


def _load() -> Mapping[str, Mapping[str, tuple[str, ...]]]:
    data = read_toml(_FILE).get("phrases")
    if not isinstance(data, dict):
        raise ConfigError(f"sidecar/data/{_FILE}: phrases: must be a table")
    out = {name: phrase_lists(data, _FILE, name, tuple(VOICES)) for name in _TABLES}
    for name, voices in out.items():
        for voice, lines in voices.items():
            for line in lines:
                unknown = set(re.findall(r"{(\w+)}", line)) - {"addr", "memory"}
                if unknown:
                    raise ConfigError(f"sidecar/data/{_FILE}: phrases.{name}.{voice}: unknown placeholder {unknown}")
    return out


PHRASES = _load()
BRING_UP = frozenset({"promise", "gift", "favour", "quarrel", "event"})
"""Kinds mentioned when relevant to the player's line (a secret is never said aloud
unprompted; names and likes have their own answers)."""
_NAME_IN_TEXT = re.compile(r"\bname\s+is\s+([^\W\d_][\w'-]*)", re.IGNORECASE)


def remembered_name(memories: Sequence[Recollection]) -> str | None:
    """The player's name as a `name` memory holds it ("The player's name is Mira.")."""
    for r in memories:
        if r.memory.kind == "name":
            m = _NAME_IN_TEXT.search(r.memory.text)
            if m:
                return m.group(1)
    return None


def mark(memory_id: int) -> str:
    """The key a memory brought up in this conversation leaves in `WorkingMemory.recalled`."""
    return f"memory:{memory_id}"


def seed(mem: WorkingMemory, memories: Sequence[Recollection]) -> None:
    """What the NPC knows of a returning player before a word is said: their name."""
    if mem.name is None:
        mem.name = remembered_name(memories)


def _say(turn: Call, rng: random.Random, mem: WorkingMemory, table: str, r: Recollection, addr: str) -> str:
    mem.recalled.append(mark(r.memory.id))
    return turn.pick(rng, PHRASES[table][turn.voice], mem, addr, memory=spoken(r.memory.text))


def promise(memories: Sequence[Recollection]) -> Recollection | None:
    """The best-ranked promise, if any."""
    return next((r for r in memories if r.memory.kind == "promise"), None)


def welcome(turn: Call, rng: random.Random, mem: WorkingMemory, memories: Sequence[Recollection]) -> tuple[str, str]:
    """(welcome, promise line) for a returning player; either may be empty (no name known,
    no promise remembered)."""
    addr = turn.name_for_addressing(mem)
    hello = turn.pick(rng, PHRASES["welcome_back"][turn.voice], mem, addr) if addr else ""
    kept = promise(memories)
    if kept is None:
        return hello, ""
    table = "promise_npc" if kept.memory.text.startswith("I ") else "promise_player"
    return hello, _say(turn, rng, mem, table, kept, addr)


def remember_answer(turn: Call, rng: random.Random, mem: WorkingMemory, memories: Sequence[Recollection]) -> str:
    """The answer to "Do you remember me?": the best memory that is not a secret, or that
    the NPC has none."""
    addr = turn.name_for_addressing(mem)
    best = next((r for r in memories if r.memory.kind != "secret"), None)
    if best is None:
        return turn.pick(rng, PHRASES["remember_nothing"][turn.voice], mem, addr)
    return _say(turn, rng, mem, "remember", best, addr)


def relevant(mem: WorkingMemory, memories: Sequence[Recollection]) -> Recollection | None:
    """A memory worth bringing up now: relevant to the line, of a kind said aloud, and not
    already brought up in this conversation."""
    return next(
        (r for r in memories
         if r.relevant and r.memory.kind in BRING_UP and mark(r.memory.id) not in mem.recalled),
        None,
    )


def bring_up(turn: Call, rng: random.Random, mem: WorkingMemory, r: Recollection) -> str:
    addr = turn.name_for_addressing(mem)
    return _say(turn, rng, mem, "remember", r, addr)


__all__ = ["BRING_UP", "PHRASES", "bring_up", "mark", "promise", "relevant", "remember_answer", "remembered_name",
           "seed", "welcome"]
