"""The turn pipeline: from a player's line to a stored, answered turn.

`Dialogue` is the one place that sequences the units (sentiment, generation, affinity,
options) and the store. Each public method ends with exactly one store transaction, so a
reply is only sent for a turn that is durably stored, and a failure before that point
changes nothing stored.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sidecar.engine.affinity import turn_delta
from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.sentiment import analyze
from sidecar.engine.types import PLAYER, Line, Option, Sentiment, TurnContext
from sidecar.errors import ConversationEnded, ConversationNotFound, PersonaNotFound
from sidecar.personas.model import Persona
from sidecar.store.db import (
    AffinityWrite,
    ConversationRow,
    MessageRow,
    NewMessage,
    Store,
    TurnWrite,
)

log = logging.getLogger(__name__)

HISTORY_WINDOW = 24
"""Lines of context given to the engine each turn."""
EMBEDDED = "embedded"

Emit = Callable[[str, Mapping[str, Any]], Awaitable[None]]


async def _no_emit(event: str, data: Mapping[str, Any]) -> None:
    return None


class PersonaRegistry:
    """The loaded personas; swapped whole on reload so a turn sees one consistent set."""

    def __init__(self, personas: Mapping[str, Persona]) -> None:
        self._personas = dict(personas)

    def replace(self, personas: Mapping[str, Persona]) -> None:
        self._personas = dict(personas)

    def get(self, persona_id: str) -> Persona:
        try:
            return self._personas[persona_id]
        except KeyError:
            raise PersonaNotFound(f"no persona {persona_id!r}", details={"persona": persona_id}) from None

    def all(self) -> list[Persona]:
        return sorted(self._personas.values(), key=lambda p: p.id)

    def __len__(self) -> int:
        return len(self._personas)


@dataclass(frozen=True)
class Affinity:
    value: int
    delta: int
    reason: str


@dataclass(frozen=True)
class Started:
    conversation: str
    line: Line
    name: str
    options: list[Option]
    affinity: Affinity


@dataclass(frozen=True)
class Said:
    line: Line
    name: str
    options: list[Option]
    sentiment: Sentiment
    affinity: Affinity
    provider: str
    ended: bool
    arc: str = "stable"
    quality_score: int = 100
    quality_retries: int = 0


def _history(rows: list[MessageRow]) -> tuple[Line, ...]:
    return tuple(Line(r.speaker, r.text) for r in rows)


class Dialogue:
    def __init__(self, store: Store, personas: PersonaRegistry, engine: EmbeddedEngine | None = None) -> None:
        self.store = store
        self.personas = personas
        self.engine = engine or EmbeddedEngine()

    async def start(self, persona_id: str, player: str, seed: int | None = None) -> Started:
        persona = self.personas.get(persona_id)
        seed = secrets.randbits(31) if seed is None else seed
        affinity = await self.store.affinity(player, persona.id)
        ctx = TurnContext(persona=persona, player=player, affinity=affinity, seed=seed, turn=0)
        greeting = self.engine.greet(ctx)
        options = self.engine.options(ctx, greeting.text, None)
        cid = "c_" + secrets.token_hex(8)
        value = await self.store.start_conversation(
            conversation_id=cid,
            player_id=player,
            persona_id=persona.id,
            seed=seed,
            greeting=NewMessage(persona.id, persona.name, greeting.text, provider=EMBEDDED),
            memory=greeting.memory,
            initial_affinity=affinity,
        )
        return Started(
            conversation=cid,
            line=Line(persona.id, greeting.text),
            name=persona.name,
            options=options,
            affinity=Affinity(value, 0, "greeting"),
        )

    async def _open(self, conversation_id: str) -> tuple[ConversationRow, Persona]:
        conv = await self.store.conversation(conversation_id)
        if conv is None:
            raise ConversationNotFound(
                f"no conversation {conversation_id!r}", details={"conversation": conversation_id}
            )
        if conv.ended_at is not None:
            raise ConversationEnded(
                f"conversation {conversation_id!r} has ended",
                details={"conversation": conversation_id},
            )
        return conv, self.personas.get(conv.persona_id)

    async def say(self, conversation_id: str, text: str, *, stream: bool = False, emit: Emit = _no_emit) -> Said:
        conv, persona = await self._open(conversation_id)
        rows = await self.store.lines(conversation_id, HISTORY_WINDOW)
        affinity = await self.store.affinity(conv.player_id, persona.id)
        sentiment = analyze(text)
        ctx = TurnContext(
            persona=persona,
            player=conv.player_id,
            affinity=affinity,
            seed=conv.seed,
            turn=conv.turns + 1,
            history=_history(rows),
            memory=conv.memory,
        )
        composed = self.engine.reply(ctx, text, sentiment)
        if stream:
            for chunk in _chunks(composed.text):
                await emit("line.delta", {"text": chunk})
        change = turn_delta(sentiment)
        options = [] if composed.ending else self.engine.options(ctx, composed.text, text)
        result = await self.store.commit_turn(
            TurnWrite(
                conversation_id=conversation_id,
                messages=(
                    NewMessage(
                        PLAYER,
                        conv.player_id,
                        text,
                        sentiment=sentiment.label,
                        compound=sentiment.compound,
                    ),
                    NewMessage(persona.id, persona.name, composed.text, provider=EMBEDDED),
                ),
                memory=composed.memory,
                affinity=AffinityWrite(change.delta, change.reason),
                ended=composed.ending,
            )
        )
        return Said(
            line=Line(persona.id, composed.text),
            name=persona.name,
            options=options,
            sentiment=sentiment,
            affinity=Affinity(result.new, result.delta, change.reason),
            provider=EMBEDDED,
            ended=composed.ending,
        )

    async def end(self, conversation_id: str) -> tuple[Line, str]:
        conv, persona = await self._open(conversation_id)
        rows = await self.store.lines(conversation_id, HISTORY_WINDOW)
        affinity = await self.store.affinity(conv.player_id, persona.id)
        ctx = TurnContext(
            persona=persona,
            player=conv.player_id,
            affinity=affinity,
            seed=conv.seed,
            turn=conv.turns + 1,
            history=_history(rows),
            memory=conv.memory,
        )
        farewell = self.engine.farewell(ctx)
        await self.store.commit_turn(
            TurnWrite(
                conversation_id=conversation_id,
                messages=(NewMessage(persona.id, persona.name, farewell.text, provider=EMBEDDED),),
                memory=farewell.memory,
                ended=True,
            )
        )
        return Line(persona.id, farewell.text), persona.name

    async def history(self, conversation_id: str, limit: int | None) -> list[MessageRow]:
        if await self.store.conversation(conversation_id) is None:
            raise ConversationNotFound(
                f"no conversation {conversation_id!r}", details={"conversation": conversation_id}
            )
        return await self.store.lines(conversation_id, limit)


def _chunks(text: str, words: int = 3) -> list[str]:
    """Split a finished line into word groups, so the embedded engine streams like an LLM."""
    parts = text.split(" ")
    return [
        " ".join(parts[i : i + words]) + (" " if i + words < len(parts) else "") for i in range(0, len(parts), words)
    ]


__all__ = ["EMBEDDED", "Affinity", "Dialogue", "Emit", "PersonaRegistry", "Said", "Started"]
