"""Step 6, offer (sidecar/engine/pipeline/offer.py): a turn's options and a re-roll's, from the
embedded engine or the provider that wrote the line (loopback)."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))

from llm_fakes import FakeProvider, Reply  # noqa: E402
from llm_support import TEST_KEY, make_router, one_openai_provider  # noqa: E402

from sidecar.engine import options as option_rules  # noqa: E402
from sidecar.engine.embedded import EmbeddedEngine  # noqa: E402
from sidecar.engine.pipeline.draft import Draft  # noqa: E402
from sidecar.engine.pipeline.generate import Generate  # noqa: E402
from sidecar.engine.pipeline.offer import Offer  # noqa: E402
from sidecar.engine.quality import QualityGate  # noqa: E402
from sidecar.engine.routed import RoutedSource  # noqa: E402
from sidecar.engine.source import EMBEDDED, EmbeddedSource  # noqa: E402
from sidecar.llm.costs import MemoryLedger  # noqa: E402

MakeDraft = Callable[..., Awaitable[Draft]]
ENGINE = EmbeddedEngine()
OFFER = Offer(EmbeddedSource(ENGINE), ENGINE)
OFFERED = {
    "options": [
        {"text": "What are you forging today?", "intent": "ask"},
        {"text": "I once worked a bellows myself.", "intent": "share"},
        {"text": "I'll leave you to it.", "intent": "leave"},
    ]
}


async def _quiet(name: str, data: object) -> None:
    return None


async def generated(draft: Draft) -> Draft:
    draft.generation = await Generate(EmbeddedSource(ENGINE), QualityGate(), ENGINE)(draft, stream=False, emit=_quiet)
    return draft


async def test_a_turn_offers_three_distinct_options_never_the_players_own_line(make_draft: MakeDraft) -> None:
    draft = await generated(await make_draft("How is the work going?"))
    options = await OFFER(draft)
    keys = {option_rules.key(o.text) for o in options}
    assert len(options) == 3 and len(keys) == 3
    assert option_rules.key(draft.player_text) not in keys
    assert [o.intent for o in options] == ["ask", "share", "leave"]


async def test_a_goodbye_offers_nothing(make_draft: MakeDraft) -> None:
    draft = await generated(await make_draft("Goodbye!"))
    assert draft.generation.ending and await OFFER(draft) == []


async def test_a_reroll_of_an_embedded_line_differs_from_what_the_game_shows(make_draft: MakeDraft) -> None:
    draft = await make_draft("Hello.")
    npc_line = draft.ctx.history[-1].text
    shown = {option_rules.key(o.text) for o in draft.ctx.state.options}
    for round_ in (1, 2, 3):
        fresh = await OFFER.reroll(draft.turn, npc_line, EMBEDDED, round_=round_, shown=shown)
        assert len(fresh) == 3 and {option_rules.key(o.text) for o in fresh} != shown
        shown = {option_rules.key(o.text) for o in fresh}


async def test_a_reroll_asks_the_provider_that_wrote_the_line_and_only_then(
    make_draft: MakeDraft, openai_fake: FakeProvider
) -> None:
    openai_fake.queue(Reply(text=json.dumps(OFFERED)))
    draft = await make_draft("Hello.")
    routes = one_openai_provider(openai_fake.base_url)
    async with make_router(routes, MemoryLedger(), env={"MAIN_KEY": TEST_KEY}) as router:
        offer = Offer(RoutedSource(router, ENGINE), ENGINE)
        embedded = await offer.reroll(draft.turn, "Hm. Hello.", EMBEDDED, round_=1, shown=())
        assert openai_fake.calls == 0, "an embedded line is re-rolled by the embedded engine"
        asked = await offer.reroll(draft.turn, "The forge is hot today.", "main", round_=1, shown=())
    assert openai_fake.calls == 1 and openai_fake.received[0].body["max_tokens"] > 0
    assert [o.text for o in asked] == [o["text"] for o in OFFERED["options"]]
    assert len(embedded) == 3
