"""The village day with a scene: NPCs together in a scene gossip where the rule allows, and
nothing else (issue 13 §2 over issue 14's scenes).

Morning, the player (id `p_scene_day`) tells Ansel a secret and a promise, alone. Then Ansel
joins Goldie in a scene (Rook absent) and the player asks Goldie about the promise, there and
alone with her afterwards. Then the player talks to Rook alone, and last Ansel stands in a
second scene that Rook joins (Ansel does not like Rook: 35), where the player asks Rook
about it. (That scenes starting together gossip too is tests/engine/test_scene_gossip.py's.)

Run twice through a real sidecar over real ZeroMQ on a real SQLite file with a loopback
OpenAI-format provider: once with Ansel a gossip (a copy of the shipped personas where his
file says `gossip = true`; he and Goldie like each other, 80 / 90), once with the shipped
files (Ansel keeps what he is told). Goldie learns the promise, `told_by` Ansel, only in the
first run; she never learns the secret; Rook learns neither in either run. Checked on every
prompt sent to the provider, attributed to the NPC it voices, on `memory.list`, and on every
line said (the same day on the embedded engine too).
"""

from __future__ import annotations

import re
import shutil
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
KEY = "sk-scene-day-0123456789abcdefSECRETgossip"
PLAYER = "p_scene_day"

# Marker words no persona file or bundled phrase holds: an NPC prompted with one, or holding
# a memory with one, can only have it from the player (directly, overheard or gossiped).
SECRET = "I hid the mayor's silver spoons in the well"
PROMISE = "bring you a jar of quince jam"
FACTS = {"spoons", "quince"}


def _facts(text: str) -> set[str]:
    low = text.lower()
    return {f for f in FACTS if f in low}


@dataclass
class Day:
    prompts: dict[str, list[str]] = field(default_factory=dict)
    """Each provider request's text, by the NPC it voiced."""
    listed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    lines: dict[str, list[str]] = field(default_factory=dict)
    """Every NPC line said (greetings, answers, scene lines, farewells), by its speaker."""


def _personas(tmp: Path, ansel_gossips: bool) -> Path:
    if not ansel_gossips:
        return REPO / "personas"
    out = tmp / "personas"
    shutil.copytree(REPO / "personas", out)
    path = out / "ansel.toml"
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition('\nid = "ansel"\n')
    assert sep, "ansel.toml has its id line"
    path.write_text(head + sep + "gossip = true\n" + rest, encoding="utf-8")
    return out


def _sidecar(data_dir: Path, personas: Path, config: Path | None) -> AbstractAsyncContextManager[Client]:
    return keyed_sidecar(data_dir, personas, config, KEY)


_VOICES = re.compile(
    r"You are (Ansel|Goldie|Rook)\b|is talking with (Ansel|Goldie|Rook) \("
    r"|You keep (Ansel|Goldie|Rook)'s long-term memory"
)


def _voiced(text: str) -> str:
    """Which NPC a request is for: its line's persona prompt ("You are Goldie, ..." or, in a
    scene, "[Scene] You are Goldie, ..."), its options' ("... is talking with Goldie (") or its
    memories' ("You keep Goldie's long-term memory")."""
    found = _VOICES.search(text)
    assert found is not None, f"a request for none of the day's NPCs: {text[:400]}"
    return next(g for g in found.groups() if g).lower()


class Script:
    def __init__(self, client: Client, fake: FakeProvider | None, day: Day) -> None:
        self.client, self.fake, self.day = client, fake, day

    async def call(self, op: str, args: dict[str, Any], persona: str = "") -> dict[str, Any]:
        """`op`, recording its NPC lines (by `persona`, else by each scene line's speaker) and
        the provider requests it made."""
        first = len(self.fake.received) if self.fake else 0
        result: dict[str, Any] = await self.client.call(op, args)
        if self.fake is not None:
            for r in self.fake.received[first:]:
                text = request_text(r.body)
                self.day.prompts.setdefault(_voiced(text), []).append(text)
        if "line" in result:
            self.day.lines.setdefault(persona, []).append(result["line"]["text"])
        for line in result.get("lines", []):
            self.day.lines.setdefault(line["speaker"], []).append(line["text"])
        return result

    async def talk(self, persona: str, lines: list[str]) -> None:
        start = {"persona": persona, "player": PLAYER, "seed": 3}
        cid = (await self.call("conversation.start", start, persona))["conversation"]
        for line in lines:
            await self.call("conversation.say", {"conversation": cid, "text": line}, persona)
        await self.call("conversation.end", {"conversation": cid}, persona)

    async def scene(self, personas: list[str], joins: list[str], lines: list[str]) -> None:
        args = {"personas": personas, "player": PLAYER, "seed": 8, "strategy": "list"}
        started = await self.call("scene.start", args)
        for persona in joins:
            await self.call("scene.join", {"scene": started["scene"], "persona": persona})
        for line in lines:
            await self.call("scene.say", {"scene": started["scene"], "text": line})
        await self.call("scene.end", {"scene": started["scene"]})


async def _run_day(data_dir: Path, tmp: Path, ansel_gossips: bool, *, provider: bool = True) -> Day:
    fake = await FakeProvider("openai", key=KEY).start() if provider else None
    day = Day()
    try:
        config = None
        if fake is not None:
            fake.default = Reply(text="Mm. Go on, I'm listening.")
            config = tmp / "providers.toml"
            config.write_text(one_openai_provider(fake.base_url), encoding="utf-8")
        async with _sidecar(data_dir, _personas(tmp, ansel_gossips), config) as client:
            s = Script(client, fake, day)
            await s.talk("ansel", [f"Can you keep a secret? {SECRET}.", f"I promise to {PROMISE} tomorrow."])
            # Ansel joins Goldie in a scene (so she hears no greeting of his: the embedded
            # engine's brings up a promise); Rook is not there.
            await s.scene(["goldie"], ["ansel"], ["Good morning to you both.", "Goldie, what did I promise to bring?"])
            await s.talk("goldie", ["What did I promise to bring Ansel?", "Any news? Any secrets?"])
            await s.talk("rook", ["What did I promise to bring Ansel?", "Any news? Any secrets?"])
            # Rook joins Ansel, who does not like him: nothing passes either way.
            await s.scene(["ansel"], ["rook"], ["Rook, what did I promise to bring Ansel?"])
            for persona in ("ansel", "goldie", "rook"):
                day.listed[persona] = (await client.call("memory.list", {"persona": persona, "player": PLAYER}))[
                    "memories"
                ]
    finally:
        if fake is not None:
            await fake.stop()
    return day


def _check(day: Day, knows: dict[str, set[str]]) -> None:
    for persona, lines in day.lines.items():
        for line in lines:
            assert not _facts(line) - knows[persona], (persona, line)
    for persona, prompts in day.prompts.items():
        for prompt in prompts:
            leaked = _facts(prompt) - knows[persona]
            assert not leaked, (persona, leaked, prompt[:3000])
    held = {p: set().union(*(_facts(m["text"]) for m in ms)) if ms else set() for p, ms in day.listed.items()}
    assert held == knows
    for persona, memories in day.listed.items():
        assert not [m for m in memories if m.get("told_by") and m["kind"] == "secret"], persona


async def test_in_a_scene_a_gossip_who_is_liked_passes_the_promise_never_the_secret(
    data_dir: Path, tmp_path: Path
) -> None:
    day = await _run_day(data_dir, tmp_path, ansel_gossips=True)
    _check(day, {"ansel": {"spoons", "quince"}, "goldie": {"quince"}, "rook": set()})
    told = [m for m in day.listed["goldie"] if "quince" in m["text"].lower()]
    assert [(m["kind"], m["told_by"]) for m in told] == [("promise", "ansel")]
    assert told[0]["source"] is None, "passed on as Ansel joined: no line to source it to"
    # The gossip path: in the scene and after it, Goldie is prompted with what Ansel told her,
    # as hearsay (engine/witness.py `attributed`).
    assert any("quince" in p and "(Ansel told you this.)" in p for p in day.prompts["goldie"])
    assert day.prompts["rook"], "Rook was voiced (and prompted with neither fact)"


async def test_in_a_scene_an_npc_without_gossip_passes_nothing(data_dir: Path, tmp_path: Path) -> None:
    day = await _run_day(data_dir, tmp_path, ansel_gossips=False)
    _check(day, {"ansel": {"spoons", "quince"}, "goldie": set(), "rook": set()})
    assert day.prompts["goldie"] and day.prompts["rook"]




@pytest.mark.parametrize("ansel_gossips", [True, False])
async def test_in_a_scene_the_embedded_engine_says_only_what_each_npc_knows(
    data_dir: Path, tmp_path: Path, ansel_gossips: bool
) -> None:
    day = await _run_day(data_dir, tmp_path, ansel_gossips, provider=False)
    _check(day, {"ansel": {"spoons", "quince"}, "goldie": {"quince"} if ansel_gossips else set(), "rook": set()})
    assert day.lines["goldie"] and day.lines["rook"]
    # The gossip path on the embedded engine: asked about it, Goldie brings up the promise Ansel
    # told her ("You promised to bring Ansel a jar of quince jam!"), and only then.
    assert any("quince" in line for line in day.lines["goldie"]) is ansel_gossips, day.lines["goldie"]


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
