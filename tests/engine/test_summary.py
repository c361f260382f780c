"""Rolling summaries (sidecar/engine/summary.py, routed_summary.py): the extractive fold, the
fact check, and the provider chain's fold against a loopback OpenAI-format server."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st
from llm_fakes import FakeProvider, Reply
from llm_support import TEST_KEY, make_router, one_openai_provider

from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.routed import RoutedSource
from sidecar.engine.routed_summary import RoutedSummariser
from sidecar.engine.summary import Fold, extractive, holds, missing, reading_facts, with_facts
from sidecar.engine.tokens import ESTIMATE
from sidecar.llm.costs import MemoryLedger
from sidecar.store.db import MessageRow

ENV = {"MAIN_KEY": TEST_KEY}


def rows(*lines: tuple[str, str]) -> list[MessageRow]:
    return [
        MessageRow(i, who, "Mira" if who == "player" else "Ansel", text, 0.0) for i, (who, text) in enumerate(lines)
    ]


TALK = rows(
    ("ansel", "Oh. H-hello. Welcome to the forge."),
    ("player", "Hi! My name is Mira. I love fishing at the old mill."),
    ("ansel", "Fishing? The mill pond has big trout, they say. I made hooks for Rook in March."),
    ("player", "Could you mend my grandmother's kettle by Friday?"),
    ("ansel", "I... yes. I promise it will be ready by Friday. It is good copper."),
    ("player", "Thank you. The weather is lovely today."),
    ("ansel", "It is. The river Idle is low, so the ford is open."),
)


def test_facts_from_the_reading_module() -> None:
    facts = [f.text for f in reading_facts(TALK)]
    assert facts == ["The player's name is Mira.", "The player said: I love fishing at the old mill."]
    assert [f.seq for f in reading_facts(TALK)] == [1, 1]


def test_a_fact_is_held_by_its_key_words_not_by_its_wording() -> None:
    assert holds("Mira introduced herself at the forge.", "The player's name is Mira.")
    assert not holds("The player introduced herself.", "The player's name is Mira.")
    assert holds("She loves fishing at the old mill.", "The player said: I love fishing at the old mill.")
    assert missing("Mira came by.", ["The player's name is Mira.", "The player said: I hate turnips."]) == [
        "The player said: I hate turnips."
    ]
    assert (
        with_facts("They talked.", ["The player said: I hate turnips"])
        == "They talked. The player said: I hate turnips."
    )


def test_the_extractive_fold_keeps_the_fact_sentences_last_and_fits_its_budget() -> None:
    facts = [f.text for f in reading_facts(TALK)]
    folded = extractive("", TALK, facts, max_tokens=60)
    assert folded.method == "extractive"
    assert not missing(folded.text, facts)
    assert folded.text.endswith("Mira: My name is Mira. Mira: I love fishing at the old mill.")
    assert ESTIMATE.count(folded.text) <= 60 + len(TALK)  # the budget, give or take the joins
    assert "promise" in folded.text, "a sentence that says much is chosen over small talk"


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(st.text(min_size=1, max_size=120), min_size=1, max_size=20),
    facts=st.lists(st.text(min_size=1, max_size=60), max_size=5),
    budget=st.integers(8, 200),
)
def test_a_fold_never_drops_a_fact(texts: list[str], facts: list[str], budget: int) -> None:
    folded = extractive("An earlier summary.", rows(*(("player", t) for t in texts)), facts, budget)
    assert not missing(folded.text, facts)


def test_a_rolling_fold_keeps_the_facts_of_the_summary_before_it() -> None:
    first = extractive("", TALK[:3], [f.text for f in reading_facts(TALK[:3])], 40)
    later = rows(*((("player", f"We talked about hammers, part {i}.")) for i in range(12)))
    second = extractive(first.text, later, [f.text for f in reading_facts(TALK[:3])], 40)
    assert holds(second.text, "The player's name is Mira.")


async def _fold(
    fake: FakeProvider, facts: Sequence[str], env: dict[str, str] = ENV, ledger: MemoryLedger | None = None
) -> tuple[str, str]:
    async with make_router(one_openai_provider(fake.base_url), ledger or MemoryLedger(), env=env) as router:
        source = RoutedSource(router, EmbeddedEngine())
        summariser = RoutedSummariser(source.ask, lambda: router.first_ready() is not None)
        job = Fold("", TALK, facts, 80, ESTIMATE, persona="ansel", conversation="c1")
        made = await summariser.fold(job)
        return made.text, made.method


async def test_the_providers_summary_is_used_and_given_back_a_fact_it_lost(openai_fake: FakeProvider) -> None:
    openai_fake.queue(Reply(text="Mira visited the forge and asked Ansel to mend a kettle by Friday; he promised."))
    facts = [f.text for f in reading_facts(TALK)]
    ledger = MemoryLedger()
    text, method = await _fold(openai_fake, facts, ledger=ledger)
    assert method == "llm"
    assert [(r.purpose, r.conversation, r.persona) for r in ledger.rows] == [("summary", "c1", "ansel")]
    assert text.startswith("Mira visited the forge")
    assert text.endswith("The player said: I love fishing at the old mill."), "the lost fact is appended"
    assert not missing(text, facts)
    body = openai_fake.received[-1].body
    assert "Facts the summary must keep" in body["messages"][-1]["content"]
    assert "I love fishing at the old mill." in body["messages"][-1]["content"]


async def test_a_failed_or_empty_summary_falls_back_to_the_extractive_one(openai_fake: FakeProvider) -> None:
    facts = [f.text for f in reading_facts(TALK)]
    openai_fake.queue(Reply(mode="status", status=500, error_message="boom"))
    text, method = await _fold(openai_fake, facts)
    assert method == "extractive" and not missing(text, facts)
    openai_fake.queue(Reply(text="   "))
    text, method = await _fold(openai_fake, facts)
    assert method == "extractive" and not missing(text, facts)


async def test_with_no_provider_ready_the_chain_is_not_asked(openai_fake: FakeProvider) -> None:
    text, method = await _fold(openai_fake, ["The player's name is Mira."], env={})  # no key
    assert method == "extractive" and openai_fake.calls == 0 and holds(text, "The player's name is Mira.")
