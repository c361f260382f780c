"""Scenes over an LLM provider: the director with the router and a loopback server speaking
OpenAI's chat completions (tests/llm/llm_fakes.py), a real SQLite store, the shipped personas.

- Nobody speaks for anyone else (issue 14 §4): a reply scripted to write Goldie's line inside
  Ansel's ("... Goldie: Oh, Ansel!") is cut, and Goldie speaks for herself in her own turn.
- The witness rule reaches the prompt: an NPC that joined later is not given the lines said
  before it came, and the scene instruction tells each speaker whom it addresses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llm_fakes import FakeProvider, Reply
from llm_support import TEST_KEY, make_router, one_openai_provider

from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.quality import QualityGate
from sidecar.engine.routed import RoutedSource
from sidecar.engine.scene.director import SceneDirector, SceneSettings
from sidecar.engine.turn import Dialogue, PersonaRegistry
from sidecar.llm.costs import MemoryLedger
from sidecar.store import history
from sidecar.store.db import Store

PLAYER = "p1"
OPTIONS = json.dumps(
    {
        "options": [
            {"text": "Tell me more.", "intent": "ask"},
            {"text": "I grew up by a forge too.", "intent": "share"},
            {"text": "I should go.", "intent": "leave"},
        ]
    }
)


def _config(base_url: str) -> str:
    # No quality retries: the line the director cuts is the provider's first, as it wrote it.
    return one_openai_provider(base_url) + "[quality]\nmax_retries = 0\n"


def _line_requests(fake: FakeProvider) -> list[dict[str, Any]]:
    return [r.body for r in fake.received if "response_format" not in r.body]


def _prompt(body: Mapping[str, Any]) -> str:
    return "\n".join(str(m.get("content", "")) for m in body["messages"])


async def _director(store: Store, registry: PersonaRegistry, router: Any) -> SceneDirector:
    engine = EmbeddedEngine()
    gate = QualityGate(max_retries=0)
    return SceneDirector(Dialogue(store, registry, engine, source=RoutedSource(router, engine), gate=gate))


async def test_a_line_written_for_another_npc_is_cut_and_that_npc_speaks_for_itself(
    store: Store, registry: PersonaRegistry, openai_fake: FakeProvider
) -> None:
    own = "Aye, the forge is hot today, and the iron came out true."
    hers = "Ansel, you say that every single day, love, and every day it's true."
    openai_fake.queue(Reply(text=f"{own} Goldie: Oh, Ansel, you always say that!"), Reply(text=hers))
    openai_fake.default = Reply(text=OPTIONS)
    async with make_router(_config(openai_fake.base_url), MemoryLedger(), env={"MAIN_KEY": TEST_KEY}) as router:
        director = await _director(store, registry, router)
        s = await director.start(
            ["ansel", "goldie"], PLAYER, seed=1, settings=SceneSettings(talkativeness=0.0), player_name="Mira"
        )
        events: list[tuple[str, Mapping[str, Any]]] = []

        async def emit(event: str, data: Mapping[str, Any]) -> None:
            events.append((event, data))

        said = await director.say(s.scene, "Ansel, is the forge hot today?", stream=True, emit=emit)
    assert [(x.speaker, x.text) for x in said.lines] == [("ansel", own), ("goldie", hers)]
    assert [t.why for t in said.turns] == ["named", "voiced"]
    assert said.lines[1].addressed_to == ("ansel",), "she answers the one who tried to speak for her"
    rows = await store.run(history.lines, s.scene, limit=None, before=None)
    assert "Goldie:" not in " ".join(r.text for r in rows), "the cut line is stored nowhere"
    # What the game was shown of Ansel's line is his own words only (cut as it streamed).
    shown = [d for e, d in events if e == "line.delta" and d["speaker"] == "ansel"]
    assert "".join(d["text"] for d in shown) == own
    # Each speaker was told whom to address and to speak only for itself.
    first, second = _line_requests(openai_fake)[:2]
    assert "Speak only for yourself" in _prompt(first) and "You are Ansel" in _prompt(first)
    assert "Address Ansel by name" in _prompt(second) and "You are Goldie" in _prompt(second)


async def test_an_npc_that_joined_later_is_not_given_the_lines_before_it_came(
    store: Store, registry: PersonaRegistry, openai_fake: FakeProvider
) -> None:
    openai_fake.default = Reply(text="Well now, that is a fine thing to hear on a fine evening.")
    async with make_router(_config(openai_fake.base_url), MemoryLedger(), env={"MAIN_KEY": TEST_KEY}) as router:
        director = await _director(store, registry, router)
        s = await director.start(["ansel", "goldie"], PLAYER, seed=1, settings=SceneSettings(talkativeness=0.0))
        await director.say(s.scene, "My secret word is heliotrope, keep it safe.")
        await director.join(s.scene, "rook")
        openai_fake.received.clear()
        said = await director.say(s.scene, "Rook, Goldie, what shall we sing?")
    assert [x.speaker for x in said.lines] == ["rook", "goldie"]
    rook = next(b for b in _line_requests(openai_fake) if "You are Rook" in _prompt(b))
    assert "heliotrope" not in _prompt(rook), "Rook was not there to hear it"
    others = [b for b in _line_requests(openai_fake) if "You are Rook" not in _prompt(b)]
    assert others and all("heliotrope" in _prompt(b) for b in others), "the NPCs present then heard it"


async def test_a_cost_budget_stops_the_exchange_once_its_lines_cost_it(
    store: Store, registry: PersonaRegistry, openai_fake: FakeProvider
) -> None:
    openai_fake.default = Reply(text="Well now, that is a fine thing to hear on a fine evening.", usage=(400, 100))
    priced = _config(openai_fake.base_url) + '[providers.main.price]\ninput = 1.0\noutput = 4.0\ndate = "2025-01-01"\n'
    line_usd = (400 * 1.0 + 100 * 4.0) / 1_000_000
    async with make_router(priced, MemoryLedger(), env={"MAIN_KEY": TEST_KEY}) as router:
        director = await _director(store, registry, router)
        spoke = []
        for budget in (None, line_usd * 1.5):
            s = await director.start(
                ["ansel", "goldie", "rook"],
                PLAYER,
                seed=1,
                settings=SceneSettings(strategy="list", talkativeness=0.0, max_usd=budget),
            )
            spoke.append(len((await director.say(s.scene, "How is everyone this evening?")).lines))
    assert spoke == [3, 2], "the line that reaches the budget is the last"
