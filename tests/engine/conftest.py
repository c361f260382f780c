"""Fixtures for the pipeline step tests: a real SQLite store, the shipped personas, and drafts
made the way `Dialogue` makes them (a started conversation, loaded and read)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))  # the loopback fakes

from llm_fakes import FakeProvider  # noqa: E402
from llm_support import TEST_KEY  # noqa: E402

from sidecar.engine.pipeline.draft import Draft  # noqa: E402
from sidecar.engine.pipeline.load import load_turn  # noqa: E402
from sidecar.engine.pipeline.read import other_names, read_line  # noqa: E402
from sidecar.engine.turn import Dialogue, PersonaRegistry  # noqa: E402
from sidecar.personas.loader import load_personas  # noqa: E402
from sidecar.store.db import Store  # noqa: E402

PERSONAS = Path(__file__).resolve().parents[2] / "personas"

MakeDraft = Callable[..., Awaitable[Draft]]


@pytest.fixture(scope="session")
def registry() -> PersonaRegistry:
    return PersonaRegistry(load_personas(PERSONAS).personas)


@pytest.fixture
def dialogue(store: Store, registry: PersonaRegistry) -> Dialogue:
    return Dialogue(store, registry)


@pytest.fixture
def make_draft(dialogue: Dialogue, store: Store, registry: PersonaRegistry) -> MakeDraft:
    """`await make_draft(text, persona=..., seed=..., conversation=...)`: a read draft of a
    new conversation (or of `conversation`, as stored now)."""

    async def make(
        text: str, *, persona: str = "ansel", seed: int = 3, conversation: str | None = None, speaker: str | None = None
    ) -> Draft:
        if conversation is None:
            conversation = (await dialogue.start(persona, "p1", seed=seed)).conversation
        state = await load_turn(store, conversation)
        who = registry.get(speaker or state.conversation.persona_id)
        return read_line(state, who, text, others=other_names(who, registry.all()))

    return make


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeProvider]:
    """A loopback server speaking OpenAI's wire format, for the steps that call a provider."""
    fake = await FakeProvider("openai", key=TEST_KEY).start()
    yield fake
    await fake.stop()
