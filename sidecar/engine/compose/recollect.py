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
from sidecar.engine.remember import promise_kept, spoken, without_when
from sidecar.errors import ConfigError
from sidecar.store.memory import ACTION_KEY, NewMemory

_FILE = "memory.toml"
_TABLES = (
    "welcome_back", "promise_player", "promise_npc", "remember", "remember_nothing", "gift_ack", "kept_ack",
    "promise_ack", "secret_ack", "remember_secret", "bring_up", "remember_dealt",
)


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
BRING_UP = frozenset({"promise", "gift", "favour", "event"})
"""Kinds mentioned when relevant to the player's line (a secret is never said aloud
unprompted; names have their own answer)."""
BRING_UP_EARLIER = frozenset({"like", "dislike", "quarrel"})
"""Kinds mentioned when relevant only if told in an earlier meeting: within one conversation
the engine's own memory brings likes up, and an insult of a few lines ago is the arc's and
the reaction's ("Oh, I remember: you insulted me!" right after a compliment of the stew)."""
_NAME_IN_TEXT = re.compile(r"\b(?:name\s+is|name's|called|named|goes\s+by)\s+([^\W\d_][\w'-]*)", re.IGNORECASE)


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
    text = without_when(r.memory.text) if r.memory.kind == "promise" else r.memory.text
    return turn.pick(rng, PHRASES[table][turn.voice], mem, addr, memory=spoken(text))


def promise(memories: Sequence[Recollection]) -> Recollection | None:
    """The best-ranked promise the NPC witnessed itself, if any (one another NPC told it of
    is not greeted with "last time you promised…": it was not there)."""
    return next((r for r in memories if r.memory.kind == "promise" and r.memory.told_by is None), None)


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
    """The answer to "Do you remember me?" / "Remember the apples?": the memory the line is
    about (a secret only as "I remember, and I told no one"), else the best one not brought
    up yet in this conversation (never a secret), or that the NPC has none."""
    addr = turn.name_for_addressing(mem)
    about = next((r for r in memories if r.relevant), None)
    if about is not None and about.memory.kind == "secret":
        mem.recalled.append(mark(about.memory.id))
        return turn.pick(rng, PHRASES["remember_secret"][turn.voice], mem, addr)
    sayable = [r for r in memories if r.memory.kind != "secret"]
    best = about or next((r for r in sayable if mark(r.memory.id) not in mem.recalled), None) or next(
        iter(sayable), None
    )
    if best is None:
        return turn.pick(rng, PHRASES["remember_nothing"][turn.voice], mem, addr)
    if _record(best):
        mem.recalled.append(mark(best.memory.id))
        return turn.pick(rng, PHRASES["remember_dealt"][turn.voice], mem, addr)
    return _say(turn, rng, mem, "remember", best, addr)


def _record(r: Recollection) -> bool:
    """An action's record ("rent room (nights: 1, price: 5), done") is for prompts and the
    game: said aloud it reads as a ledger ("Ooh, rent room (nights: 1…), done, I remember!")."""
    return r.memory.key.startswith(ACTION_KEY)


def relevant(mem: WorkingMemory, memories: Sequence[Recollection]) -> Recollection | None:
    """A memory worth bringing up now: relevant to the line, of a kind said aloud, and not
    already brought up in this conversation."""
    return next(
        (r for r in memories
         if r.relevant and mark(r.memory.id) not in mem.recalled and not _record(r)
         and (r.memory.kind in BRING_UP or (r.earlier and r.memory.kind in BRING_UP_EARLIER))),
        None,
    )


def name_answer(turn: Call, rng: random.Random, mem: WorkingMemory, memories: Sequence[Recollection]) -> str | None:
    """"What's my name?" answered from an earlier meeting's memory ("I remember. Your name is
    Mira."), not as if the player had said it minutes ago; None when the name is not one."""
    r = next((r for r in memories if r.memory.kind == "name" and r.earlier), None)
    if r is None or remembered_name([r]) != mem.name:
        return None
    return _say(turn, rng, mem, "remember", r, turn.name_for_addressing(mem))


def likes_remembered(memories: Sequence[Recollection]) -> list[str]:
    """Likes and dislikes from earlier meetings as the NPC says them ("love fishing")."""
    out = []
    for r in memories:
        if r.memory.kind in ("like", "dislike") and r.earlier:
            said = spoken(r.memory.text)
            out.append(said[4:] if said.startswith("you ") else said)
    return out


def acknowledge(turn: Call, rng: random.Random, mem: WorkingMemory, player_text: str, told: Sequence[NewMemory],
                memories: Sequence[Recollection], addr: str) -> str:
    """The answer to a secret, a promise kept (with a gift, or done), a gift or a promise
    told in this line; empty when the line told none."""
    kinds = {m.kind: m for m in told}
    if "secret" in kinds:
        return turn.pick(rng, PHRASES["secret_ack"][turn.voice], mem, addr)
    promise = promise_kept(player_text, told, (r.memory for r in memories))
    if promise is not None:
        mem.recalled.append(mark(promise.id))
        return turn.pick(rng, PHRASES["kept_ack"][turn.voice], mem, addr)
    if "gift" in kinds:
        return turn.pick(rng, PHRASES["gift_ack"][turn.voice], mem, addr)
    if "promise" in kinds:
        return turn.pick(rng, PHRASES["promise_ack"][turn.voice], mem, addr)
    return ""


def bring_up(turn: Call, rng: random.Random, mem: WorkingMemory, r: Recollection) -> str:
    """A memory mentioned unasked, because the line is about it."""
    addr = turn.name_for_addressing(mem)
    return _say(turn, rng, mem, "bring_up", r, addr)


__all__ = ["BRING_UP", "BRING_UP_EARLIER", "PHRASES", "acknowledge", "bring_up", "likes_remembered", "mark",
           "name_answer", "promise", "relevant", "remember_answer", "remembered_name", "seed", "welcome"]
