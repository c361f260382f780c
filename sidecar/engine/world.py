"""What world facts do to a turn: the persona topics open under them, and the sentence an
LLM prompt gets about them.

A topic with `when = {key = value, ...}` (personas/model.py) is open only while every one of
those facts holds (equal value; an unset fact does not hold). `persona_in` gives the turn a
view of the persona without its closed topics, once, when the turn's context is made
(pipeline/read.py `context`, `Dialogue.start`), so every engine step that reads topics
(reply, hooks, options, observe) sees the same open set without checking facts itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from sidecar.personas.model import Persona, Topic
from sidecar.store.world import Value

_VIEWS: dict[tuple[int, frozenset[str]], tuple[Persona, Persona]] = {}
_VIEWS_MAX = 256


def is_open(topic: Topic, world: Mapping[str, Value]) -> bool:
    return all(k in world and _same(world[k], v) for k, v in topic.when.items())


def _same(have: Value, want: Value) -> bool:
    """Equal, with `true` never equal to `1` (a flag is not a count)."""
    return isinstance(have, bool) == isinstance(want, bool) and have == want


def persona_in(persona: Persona, world: Mapping[str, Value]) -> Persona:
    """`persona` as this world shows it: closed topics left out. The persona itself when all
    are open (no copy); views are cached by identity, so the engine's per-persona indexes
    are built once per set of open topics, not once per turn."""
    closed = frozenset(k for k, t in persona.topics.items() if t.when and not is_open(t, world))
    if not closed:
        return persona
    key = (id(persona), closed)
    hit = _VIEWS.get(key)
    if hit is not None and hit[0] is persona:
        return hit[1]
    view = persona.model_copy(update={"topics": {k: t for k, t in persona.topics.items() if k not in closed}})
    if len(_VIEWS) >= _VIEWS_MAX:
        _VIEWS.clear()
    _VIEWS[key] = (persona, view)
    return view


def _say(value: Value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def world_hint(world: Mapping[str, Value]) -> str | None:
    """The prompt's sentence about the world (None when the game set no fact)."""
    if not world:
        return None
    facts = "; ".join(f"{k.replace('_', ' ')}: {_say(v)}" for k, v in sorted(world.items()))
    return f"What is true in the world right now: {facts}."


__all__ = ["is_open", "persona_in", "world_hint"]
