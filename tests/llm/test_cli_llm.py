"""`parley providers`, `parley providers check`, `parley costs` and `parley chat --provider`:
the real console script in a subprocess, against loopback provider servers in this process
(so the subprocesses are awaited, never waited on with the loop blocked)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from llm_fakes import FakeProvider, Reply
from llm_support import TEST_KEY

from sidecar.llm.costs import CostRow
from sidecar.store.costs import SqliteCostLedger
from sidecar.store.db import DB_FILENAME, Store

PARLEY = [sys.executable, "-m", "sidecar"]
PERSONAS = Path(__file__).resolve().parents[2] / "personas"
KEY_ENV = "PARLEY_CLI_TEST_KEY"
LINE = "The forge has been busy all week, friend. What brings you here?"


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    return {**base, KEY_ENV: TEST_KEY, **extra}


async def parley(*args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *PARLEY,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env(),
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate(stdin)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def write_config(path: Path, good: FakeProvider, wrong: FakeProvider) -> Path:
    path.write_text(
        f"""
[router]
chain = ["main", "wrong", "nokey"]
[providers.main]
kind = "openai"
base_url = "{good.base_url}"
model = "fake-main"
api_key_env = "{KEY_ENV}"
keyring = false
[providers.main.price]
input = 1.0
output = 2.0
[providers.wrong]
kind = "openai"
base_url = "{wrong.base_url}"
model = "fake-wrong"
api_key_env = "{KEY_ENV}"
keyring = false
[providers.nokey]
preset = "groq"
api_key_env = "PARLEY_CLI_UNSET_KEY"
keyring = false
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
async def wrong_fake() -> AsyncIterator[FakeProvider]:
    fake = await FakeProvider("openai", key="sk-some-other-key-000000000").start()
    yield fake
    await fake.stop()


async def test_providers_lists_the_chain_with_states_and_key_sources_never_keys(
    openai_fake: FakeProvider, wrong_fake: FakeProvider, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "llm.toml", openai_fake, wrong_fake)
    code, out, err = await parley("providers", "--config", str(config), "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert [(p["name"], p["state"]) for p in listed] == [
        ("main", "ready"),
        ("wrong", "ready"),
        ("nokey", "unusable"),
        ("embedded", "embedded"),
    ]
    assert listed[0]["key_source"] == f"env:{KEY_ENV}" and listed[2]["key_source"] is None
    assert "PARLEY_CLI_UNSET_KEY" in listed[2]["reason"]
    code, table, err = await parley("providers", "--config", str(config))
    assert code == 0 and "unusable" in table and f"env:{KEY_ENV}" in table
    assert TEST_KEY not in out + table + err
    assert openai_fake.calls == 0, "listing sends nothing"


async def test_providers_check_reports_latency_or_the_exact_error(
    openai_fake: FakeProvider, wrong_fake: FakeProvider, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "llm.toml", openai_fake, wrong_fake)
    code, out, err = await parley("providers", "check", "--config", str(config), "--json")
    assert code == 1, "one provider failed"
    results = {r["name"]: r for r in json.loads(out)}
    assert results["main"]["ok"] and results["main"]["latency_ms"] > 0 and results["main"]["tokens"] == [42, 7]
    assert not results["wrong"]["ok"] and results["wrong"]["code"] == "provider_auth"
    assert "HTTP 401" in results["wrong"]["message"] and "[redacted]" in results["wrong"]["message"]
    assert not results["nokey"]["ok"] and "no API key" in results["nokey"]["message"]
    assert [r.body["max_tokens"] for r in openai_fake.received] == [5], "one tiny request"
    assert TEST_KEY not in out + err and TEST_KEY[-4:] not in out


async def test_costs_reports_by_day_provider_and_persona(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / DB_FILENAME)
    ledger = SqliteCostLedger(store)
    rows = [
        CostRow(1_700_000_000.0, "main", "m", 100, 10, 0.25, conversation="c1", persona="ansel"),
        CostRow(1_700_090_000.0, "backup", "b", 50, 5, 0.5, conversation="c2", persona="goldie", estimated=True),
        CostRow(1_700_090_001.0, "embedded", "embedded", 0, 0, 0.0, conversation="c2", persona="goldie"),
    ]
    for row in rows:
        await ledger.record(row)
    expected = await ledger.report()
    await store.close()

    code, out, err = await parley("costs", "--data-dir", str(tmp_path), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["total_usd"] == 0.75 and report["calls"] == 3 and report["estimated_calls"] == 1
    assert report["by_provider"] == expected.to_wire()["by_provider"]
    assert set(report["by_day"]) == set(expected.by_day) and len(report["by_day"]) == 2
    assert report["by_persona"]["goldie"]["calls"] == 2
    code, text, _ = await parley("costs", "--data-dir", str(tmp_path))
    assert code == 0 and "3 calls, $0.750000" in text
    assert "by day:" in text and "by provider:" in text and "by persona:" in text and "goldie" in text


def test_costs_on_an_empty_data_dir_creates_nothing(tmp_path: Path) -> None:
    proc = subprocess.run([*PARLEY, "costs", "--data-dir", str(tmp_path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "no costs recorded" in proc.stderr
    assert list(tmp_path.iterdir()) == []


async def test_chat_with_a_config_provider_talks_through_it(
    openai_fake: FakeProvider, wrong_fake: FakeProvider, tmp_path: Path
) -> None:
    openai_fake.default = Reply(text=LINE)
    config = write_config(tmp_path / "llm.toml", openai_fake, wrong_fake)
    code, out, err = await parley(
        "chat", "--config", str(config), "--provider", "main", "--persona", "ansel",
        "--personas", str(PERSONAS), "--data-dir", str(tmp_path / "data"), "--seed", "4",
        stdin=b"Hello there!\n/quit\n",
    )
    assert code == 0, err
    assert f"Ansel: {LINE}" in out
    assert openai_fake.calls >= 1 and wrong_fake.calls == 0, "only the chosen provider is in the chain"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--provider", "nosuch"], "unknown preset 'nosuch'"),
        (["--model", "x"], "--model needs --provider"),
    ],
)
async def test_chat_rejects_an_unknown_provider_before_starting_anything(args: list[str], message: str) -> None:
    code, _, err = await parley("chat", *args)
    assert code == 2 and message in err
