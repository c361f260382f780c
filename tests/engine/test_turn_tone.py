"""The turn pipeline with the tone reading, on a real SQLite store: the player's stance is
stored per line and the arc reads it back; an NPC line's emotion is a source's proposal when
it is one of the eight, else derived; a line stored before stances existed is left out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import apsw

from sidecar.engine import goals as goal_rules
from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.turn import DeltaSink, Dialogue, EmbeddedSource, Emit, Generated, PersonaRegistry, TurnInput
from sidecar.engine.types import Line, Option
from sidecar.personas.loader import load_personas
from sidecar.store.db import Store
from sidecar.store.memory import NewMemory

PERSONAS = Path(__file__).resolve().parents[2] / "personas"


class Proposing:
    """The embedded engine's lines, each with a proposed emotion (as an LLM source may)."""

    def __init__(self, emotion: str) -> None:
        self.inner = EmbeddedSource(EmbeddedEngine())
        self.emotion = emotion

    async def generate(self, turn: TurnInput, attempt: int, *, on_delta: DeltaSink | None, emit: Emit) -> Generated:
        made = await self.inner.generate(turn, attempt, on_delta=on_delta, emit=emit)
        return replace(made, emotion=self.emotion)

    async def options(self, turn: TurnInput, line: Generated, fallback: Sequence[Option]) -> list[Option]:
        return list(fallback)

    async def judge(
        self, turn: TurnInput, line: Generated, goal: goal_rules.GoalDef, lines: Sequence[Line]
    ) -> goal_rules.GoalCheck | None:
        return None

    async def extract(self, turn: TurnInput, line: Generated) -> list[NewMemory] | None:
        return None


async def _dialogue(tmp_path: Path, source: Proposing | None = None) -> tuple[Dialogue, Store]:
    store = await Store.open(tmp_path / "parley.sqlite3", checkpoint_interval=None)
    return Dialogue(store, PersonaRegistry(load_personas(PERSONAS).personas), source=source), store


async def test_stances_are_stored_and_sad_news_never_builds_a_conflict(tmp_path: Path) -> None:
    dialogue, store = await _dialogue(tmp_path)
    try:
        cid = (await dialogue.start("ansel", "p1", seed=2)).conversation
        grief = ["My mother died last week.", "I miss her so much.", "We buried her by the river.", "I'm scared."]
        said = [await dialogue.say(cid, text) for text in grief]
        assert all(s.arc not in {"conflict", "deteriorating"} for s in said)
        assert all(s.affinity.delta >= 0 for s in said)
        rows = await store.lines(cid)
        assert [r.stance for r in rows if r.speaker == "player"] == [s.stance for s in said]
        insults = [await dialogue.say(cid, t) for t in ("You useless oaf.", "Shut up, you fool.")]
        assert insults[-1].arc == "conflict"
        assert all(r.emotion is not None for r in await store.lines(cid) if r.speaker != "player")
    finally:
        await store.close()


async def test_a_proposed_emotion_is_kept_when_valid_and_derived_otherwise(tmp_path: Path) -> None:
    for proposed, expect in (("FEAR", "fear"), ("smug", None)):
        dialogue, store = await _dialogue(tmp_path / proposed, Proposing(proposed))
        try:
            cid = (await dialogue.start("goldie", "p1", seed=1)).conversation
            said = await dialogue.say(cid, "My father passed away on the road here.")
            if expect is None:
                assert said.feeling.emotion == "sadness"  # derived: sad news
            else:
                assert said.feeling.emotion == expect
            (row,) = [r for r in await store.lines(cid, 1)]
            assert (row.emotion, row.intensity) == (said.feeling.emotion, said.feeling.intensity)
        finally:
            await store.close()


async def test_lines_stored_before_stances_are_left_out_of_the_arc(tmp_path: Path) -> None:
    dialogue, store = await _dialogue(tmp_path)
    try:
        cid, control = [(await dialogue.start("goldie", p, seed=3)).conversation for p in ("p1", "p2")]
        for text in ("You are a useless hag.", "Your inn is a filthy dump."):
            await dialogue.say(cid, text)
            await dialogue.say(control, text)
        assert (await dialogue.say(control, "Thank you for the stew.")).arc == "reconciliation"
        await store.close()
        conn = apsw.Connection(str(tmp_path / "parley.sqlite3"))
        with conn:  # as a v3 database would have them: no stance
            conn.execute("UPDATE messages SET stance = NULL WHERE conversation_id = ?", (cid,))
        conn.close()
        store = await Store.open(tmp_path / "parley.sqlite3", checkpoint_interval=None)
        dialogue = Dialogue(store, PersonaRegistry(load_personas(PERSONAS).personas))
        said = await dialogue.say(cid, "Thank you for the stew.")
        assert said.arc != "reconciliation"  # there is no stored conflict to reconcile
    finally:
        await store.close()
