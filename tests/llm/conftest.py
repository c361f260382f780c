"""Fixtures for the LLM tests: loopback provider servers, a ledger, an event recorder."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # for `llm_fakes` under --import-mode=importlib

from llm_fakes import FakeProvider  # noqa: E402
from llm_support import TEST_KEY, FakeClock, Recorder  # noqa: E402

from sidecar.llm.costs import MemoryLedger  # noqa: E402


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeProvider]:
    fake = await FakeProvider("openai", key=TEST_KEY).start()
    yield fake
    await fake.stop()


@pytest.fixture
async def openai_fake2() -> AsyncIterator[FakeProvider]:
    fake = await FakeProvider("openai", key=TEST_KEY).start()
    yield fake
    await fake.stop()


@pytest.fixture
async def anthropic_fake() -> AsyncIterator[FakeProvider]:
    fake = await FakeProvider("anthropic", key=TEST_KEY).start()
    yield fake
    await fake.stop()


@pytest.fixture
def ledger() -> MemoryLedger:
    return MemoryLedger()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
