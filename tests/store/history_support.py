"""Builds stores for the history, archive and save tests with the store's own API (imported
as `history_support`; tests/store is on sys.path through its conftest)."""

from __future__ import annotations

from collections.abc import Sequence

from sidecar.store.db import NewMessage, Store, TurnWrite


async def talk(
    store: Store,
    cid: str,
    *,
    player: str = "mira",
    persona: str = "ansel",
    lines: Sequence[str] = ("Hello there.",),
    ended: bool = True,
) -> None:
    """A conversation: the NPC's greeting, then `lines` alternating player / NPC (a turn per
    pair); the last turn ends it when `ended`."""
    await store.start_conversation(
        conversation_id=cid,
        player_id=player,
        persona_id=persona,
        seed=1,
        greeting=NewMessage(persona, persona.title(), f"Welcome, {player}."),
        memory={},
    )
    pairs = [lines[i : i + 2] for i in range(0, len(lines), 2)]
    for n, pair in enumerate(pairs):
        messages = [NewMessage("player", player, pair[0])]
        if len(pair) > 1:
            messages.append(NewMessage(persona, persona.title(), pair[1]))
        await store.commit_turn(TurnWrite(cid, tuple(messages), {}, ended=ended and n == len(pairs) - 1))
