"""Fixtures for the LLM tests: loopback provider servers, a ledger, an event recorder."""

from __future__ import annotations

import os
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "llm_server: needs a real llama.cpp server (run by `make test-llm`)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Real-server tests run only under `make test-llm`, which installs what they need; in
    `make test` they are deselected (not skipped, so nothing is counted as passed)."""
    if os.environ.get("PARLEY_LLM_SERVER_TEST") == "1":
        return
    keep = [i for i in items if i.get_closest_marker("llm_server") is None]
    dropped = [i for i in items if i.get_closest_marker("llm_server") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
