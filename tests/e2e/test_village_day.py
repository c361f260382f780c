"""A scripted village day: each NPC knows only what it witnessed, and gossip works where allowed.

Morning, the player (id `p_day`, no display name) tells Ansel their name and a secret, with
Goldie absent. Noon, the player talks to Goldie (who must know neither), tells her a like and
a secret of her own; then Rook walks in (named as a witness) and hears a promise: Rook
overhears it, and Goldie (`gossip = true`; she and Rook like each other) passes on the like,
never her secret. Evening, the player talks to Rook: he knows the like (told by Goldie) and
the promise (overheard), never the name, Ansel's secret or Goldie's. Next morning Goldie
stands by at the forge: she gossips to Ansel, and Ansel (no gossip) tells her nothing back.

Run twice through a real sidecar over real ZeroMQ on a real SQLite file: once on the embedded
engine (checked on every line it says), once with a loopback OpenAI-format provider (checked
on every prompt sent to it, attributed to the NPC being talked to, and on its lines). The
stored memories are checked too: every memory an NPC holds comes from a line it heard, from
the game, or from another NPC (`told_by`).
"""

from __future__ import annotations

import sqlite3
import sys
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from parley_client import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))

from llm_fakes import FakeProvider, Reply  # noqa: E402
from llm_support import keyed_sidecar, one_openai_provider, request_text  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PERSONAS = REPO / "personas"
KEY = "sk-village-0123456789abcdefSECRETday"
PLAYER = "p_day"

# Each fact has a marker word that no persona file or bundled phrase holds, so an NPC that
# says it, or a prompt that holds it, can only have it from the player.
NAME = "Mirabel"
ANSEL_SECRET = "I hid the mayor's silver spoons in the well"
GOLDIE_SECRET = "I'm scared of the millpond"
LIKE = "pickled walnuts"
PROMISE = "bring you a jar of quince jam"
FACTS = {"Mirabel", "spoons", "millpond", "walnut", "quince"}

KNOWS: dict[str, set[str]] = {
    # What each NPC may ever mention, recall or be prompted with, of the facts above, by the
    # end of the day: what it was told, what it overheard, what a gossip passed on.
    "ansel": {"Mirabel", "spoons", "walnut", "quince"},
    "goldie": {"walnut", "millpond", "quince"},
    "rook": {"walnut", "quince"},
}


@dataclass
class Day:
    """What one run saw: every NPC line and every provider request, by the NPC talked to."""

    lines: dict[str, list[str]] = field(default_factory=dict)
    prompts: dict[str, list[str]] = field(default_factory=dict)
    listed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """`memory.list` for each NPC at the end of the day."""

    def said(self, persona: str, text: str) -> None:
        self.lines.setdefault(persona, []).append(text)


def _sidecar(data_dir: Path, config: Path | None) -> AbstractAsyncContextManager[Client]:
    return keyed_sidecar(data_dir, PERSONAS, config, KEY)


class Script:
    """Runs the day, recording each line and (with a provider) the prompts of each NPC."""

    def __init__(self, client: Client, day: Day, fake: FakeProvider | None) -> None:
        self.client, self.day, self.fake = client, day, fake

    async def _watch(self, persona: str, call: Any) -> dict[str, Any]:
        first = len(self.fake.received) if self.fake else 0
        result: dict[str, Any] = await call
        if self.fake is not None:
            got = self.fake.received[first:]
            self.day.prompts.setdefault(persona, []).extend(request_text(r.body) for r in got)
        self.day.said(persona, result["line"]["text"])
        return result

    async def start(self, persona: str) -> str:
        started = await self._watch(
            persona, self.client.call("conversation.start", {"persona": persona, "player": PLAYER, "seed": 5})
        )
        return str(started["conversation"])

    async def say(self, persona: str, cid: str, text: str, witnesses: tuple[str, ...] = ()) -> str:
        args: dict[str, Any] = {"conversation": cid, "text": text}
        if witnesses:
            args["witnesses"] = list(witnesses)
        said = await self._watch(persona, self.client.call("conversation.say", args))
        return str(said["line"]["text"])

    async def end(self, persona: str, cid: str) -> None:
        await self._watch(persona, self.client.call("conversation.end", {"conversation": cid}))


async def _run_day(client: Client, fake: FakeProvider | None) -> Day:
    day = Day()
    s = Script(client, day, fake)
    # Morning: Ansel alone.
    ansel = await s.start("ansel")
    await s.say("ansel", ansel, f"Hello. My name is {NAME}.")
    await s.say("ansel", ansel, f"Can you keep a secret? {ANSEL_SECRET}.")
    await s.end("ansel", ansel)
    # Noon: Goldie alone, then Rook walks in.
    goldie = await s.start("goldie")
    await s.say("goldie", goldie, "What's my name?")
    await s.say("goldie", goldie, "Have you heard any news today?")
    await s.say("goldie", goldie, f"I love {LIKE}.")
    await s.say("goldie", goldie, f"Between you and me, {GOLDIE_SECRET}.")
    await s.say("goldie", goldie, f"I promise to {PROMISE} tomorrow.", witnesses=("rook",))
    await s.end("goldie", goldie)
    # Evening: Rook alone.
    rook = await s.start("rook")
    await s.say("rook", rook, "What's my name?")
    await s.say("rook", rook, "What do I like?")
    await s.say("rook", rook, "Any news from the inn?")
    await s.end("rook", rook)
    # Next morning: Goldie stands by at the forge.
    forge = await s.start("ansel")
    await s.say("ansel", forge, "Morning! Goldie came with me.", witnesses=("goldie",))
    await s.say("ansel", forge, "What do I like?")
    await s.end("ansel", forge)
    # And Goldie, after standing by at the forge, still knows only her own.
    again = await s.start("goldie")
    await s.say("goldie", again, "What's my name?")
    await s.say("goldie", again, "Any news from the forge?")
    await s.end("goldie", again)
    for persona in KNOWS:
        listed = await client.call("memory.list", {"persona": persona, "player": PLAYER})
        day.listed[persona] = listed["memories"]
    return day


# --- what the store holds ----------------------------------------------------------------------


def _db(data_dir: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{data_dir / 'parley.sqlite3'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def _memories(data_dir: Path) -> list[sqlite3.Row]:
    conn = _db(data_dir)
    try:
        return list(conn.execute("SELECT * FROM memories WHERE player_id=? ORDER BY id", (PLAYER,)))
    finally:
        conn.close()


def _facts(text: str) -> set[str]:
    low = text.lower()
    return {f for f in FACTS if f.lower() in low}  # markers are rare words: substrings suffice


def _check_memories(data_dir: Path) -> None:
    rows = _memories(data_dir)
    held: dict[str, set[str]] = {}
    for r in rows:
        held.setdefault(r["persona_id"], set()).update(_facts(r["text"]))
        assert _facts(r["text"]) <= KNOWS[r["persona_id"]], dict(r)
    assert held == KNOWS
    by = {(r["persona_id"], f): r for r in rows for f in _facts(r["text"])}
    assert by[("rook", "walnut")]["told_by"] == "goldie"  # gossip at the inn
    assert by[("rook", "quince")]["told_by"] is None  # overheard, so his own
    assert by[("ansel", "walnut")]["told_by"] == "goldie"  # gossip at the forge
    assert by[("ansel", "spoons")]["kind"] == "secret" and by[("goldie", "millpond")]["kind"] == "secret"
    assert not [r for r in rows if r["told_by"] and r["kind"] == "secret"]
    # Every memory an NPC witnessed itself comes from a line it heard.
    conn = _db(data_dir)
    try:
        for r in rows:
            if r["told_by"] is not None or r["conversation_id"] is None:
                continue
            heard = conn.execute(
                "SELECT c.persona_id=? OR EXISTS (SELECT 1 FROM message_witnesses w WHERE w.message_id=m.id"
                " AND w.persona_id=?) FROM messages m JOIN conversations c ON c.id=m.conversation_id"
                " WHERE m.conversation_id=? AND m.seq=?",
                (r["persona_id"], r["persona_id"], r["conversation_id"], r["seq"]),
            ).fetchall()
            assert heard and heard[0][0], dict(r)
    finally:
        conn.close()


def _check_listed(day: Day) -> None:
    """What the game sees through `memory.list`: hearsay names its teller, nothing else does."""
    told = {(p, f): m.get("told_by") for p, ms in day.listed.items() for m in ms for f in _facts(m["text"])}
    assert {p: {f for q, f in told if q == p} for p in KNOWS} == KNOWS
    assert told[("rook", "walnut")] == "goldie" and told[("ansel", "walnut")] == "goldie"
    assert told[("rook", "quince")] is None and told[("ansel", "Mirabel")] is None


def _check_said(day: Day) -> None:
    for persona, lines in day.lines.items():
        for line in lines:
            leaked = _facts(line) - KNOWS[persona]
            assert not leaked, (persona, line, leaked)


# --- the two runs ------------------------------------------------------------------------------


async def test_village_day_on_the_embedded_engine(data_dir: Path) -> None:
    async with _sidecar(data_dir, None) as client:
        day = await _run_day(client, None)
    _check_said(day)
    _check_memories(data_dir)
    _check_listed(day)
    # Ansel learnt the name himself: the embedded engine says it back to him, nobody else.
    assert any(NAME in line for line in day.lines["ansel"])
    assert not any(NAME in line for p in ("goldie", "rook") for line in day.lines[p])
    # The gossip path on the embedded engine: asked what the player likes, Rook says what
    # Goldie told him; and he brings up the promise he overheard.
    assert any("walnut" in line for line in day.lines["rook"]), day.lines["rook"]
    assert any("quince" in line for line in day.lines["rook"]), day.lines["rook"]


async def test_village_day_with_a_provider_prompts_only_what_each_npc_knows(data_dir: Path, tmp_path: Path) -> None:
    fake = await FakeProvider("openai", key=KEY).start()
    try:
        fake.default = Reply(text="Mm. Go on, I'm listening.")
        config = tmp_path / "providers.toml"
        config.write_text(one_openai_provider(fake.base_url), encoding="utf-8")
        async with _sidecar(data_dir, config) as client:
            day = await _run_day(client, fake)
    finally:
        await fake.stop()
    _check_said(day)
    _check_memories(data_dir)
    _check_listed(day)
    for persona, prompts in day.prompts.items():
        assert prompts, persona
        for prompt in prompts:
            leaked = _facts(prompt) - KNOWS[persona]
            assert not leaked, (persona, leaked, prompt[:2000])
    # The gossip path: Rook is prompted with the like Goldie told him and the promise he
    # overheard, in a conversation where the player never mentioned either.
    rook = "\n".join(day.prompts["rook"])
    assert "walnut" in rook and "quince" in rook


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
