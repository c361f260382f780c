"""LLM turns end to end.

A real sidecar subprocess is started with `--config` pointing at loopback provider servers
(tests/llm/llm_fakes.py: OpenAI chat completions and Anthropic Messages, their real wire
formats) that run in this test process on 127.0.0.1; the game's side is the reference
client (or a raw DEALER socket) over real ZeroMQ, and the store is a real SQLite file.
Assertions are on what the game sees (events, replies, stored lines, cost rows) and on what
went over the wire to the provider.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq
import zmq.asyncio

from parley_client import Client, Sidecar
from parley_client.client import Event

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))

from llm_fakes import FakeProvider, Reply  # noqa: E402

from sidecar.engine import inline_options  # noqa: E402
from sidecar.engine.options import OPTIONS_SCHEMA  # noqa: E402
from sidecar.engine.personality import PRESETS  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PERSONAS = REPO / "personas"
KEY = "sk-e2e-7f3a9c1d5b2e4f60ZQXSECRETkey"
KEY_ENV = "PARLEY_E2E_PROVIDER_KEY"
PERSONA = "ansel"  # shy: temperature 0.6, frequency penalty 0.3, 80 tokens
PLAYER = "Ana"
GOOD = "The forge has been busy all week, friend. What brings you here?"
GOOD2 = "Iron does not lie, and neither do I. Ask me about the mine."
BAD = "As an AI language model, I cannot help with that."
OPTIONS = [
    {"text": "What do you make at the forge?", "intent": "ask"},
    {"text": "My father worked iron as well, long ago.", "intent": "share"},
    {"text": "I should let you get back to work.", "intent": "leave"},
]
PRICE = (0.15, 0.60)  # USD per 1M input / output tokens, set in the config


# --- harness ---------------------------------------------------------------------------------


def provider_table(name: str, fake: FakeProvider, **extra: Any) -> str:
    fields: dict[str, Any] = {
        "kind": fake.dialect,
        "base_url": fake.base_url,
        "model": f"fake-{name}",
        "api_key_env": KEY_ENV,
        "keyring": False,
    }
    if fake.dialect == "openai":
        fields["json"] = "json_schema"
    fields.update(extra)
    body = "\n".join(f"{k} = {json.dumps(v)}" for k, v in fields.items())
    return (
        f"[providers.{name}]\n{body}\n"
        f"[providers.{name}.price]\ninput = {PRICE[0]}\noutput = {PRICE[1]}\ndate = \"2025-01-01\"\n"
    )


def write_config(path: Path, providers: dict[str, FakeProvider], *, extra: str = "", **per: dict[str, Any]) -> Path:
    chain = json.dumps(list(providers))
    tables = "\n".join(provider_table(n, f, **per.get(n, {})) for n, f in providers.items())
    path.write_text(
        f"[router]\nchain = {chain}\n\n"
        "[limits]\ntimeout = 2.0\nretries = 1\nbackoff_base = 0.01\nbackoff_max = 0.05\ndeadline = 20.0\n\n"
        f"{tables}\n{extra}\n",
        encoding="utf-8",
    )
    return path


def clean_env(*, key: bool) -> dict[str, str]:
    """This process's environment without any provider key, plus the test key if asked."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != KEY_ENV}
    if key:
        env[KEY_ENV] = KEY
    return env


@asynccontextmanager
async def llm_sidecar(
    data_dir: Path,
    config: Path,
    *,
    key: bool = True,
    log_level: str = "INFO",
    personas: Path = PERSONAS,
) -> AsyncIterator[tuple[Sidecar, Client]]:
    sidecar = Sidecar(
        data_dir,
        personas,
        extra_args=["--config", str(config), "--log-level", log_level],
        env=clean_env(key=key),
    ).start()
    try:
        async with Client(sidecar.endpoint, sidecar.token, timeout=30) as client:
            yield sidecar, client
    finally:
        await asyncio.to_thread(sidecar.stop)


class Seen:
    """Events of one request, in arrival order (what the game receives before the reply)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, ev: Event) -> None:
        self.items.append((ev.event, ev.data))

    def named(self, name: str) -> list[dict[str, Any]]:
        return [d for n, d in self.items if n == name]

    def names(self) -> list[str]:
        return [n for n, _ in self.items]

    def shown(self) -> str:
        """The line the game shows: the deltas after the last `line.reset`."""
        out: list[str] = []
        for name, data in self.items:
            if name == "line.reset":
                out = []
            elif name == "line.delta":
                out.append(data["text"])
        return "".join(out)


async def start(client: Client, persona: str = PERSONA, seed: int = 11) -> str:
    started = await client.call("conversation.start", {"persona": persona, "player": PLAYER, "seed": seed})
    return str(started["conversation"])


async def say(client: Client, cid: str, text: str, *, stream: bool = True) -> tuple[dict[str, Any], Seen]:
    seen = Seen()
    said = await client.call(
        "conversation.say", {"conversation": cid, "text": text, "stream": stream}, on_event=seen
    )
    return said, seen


async def stored_lines(client: Client, cid: str) -> list[str]:
    return [h["text"] for h in (await client.call("conversation.history", {"conversation": cid}))["lines"]]


def cost_rows(data_dir: Path) -> list[sqlite3.Row]:
    """The ledger's rows, read straight from the SQLite file (WAL included)."""
    conn = sqlite3.connect(f"file:{data_dir / 'parley.sqlite3'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute("SELECT * FROM llm_calls ORDER BY id"))
    finally:
        conn.close()


def usd(input_tokens: int, output_tokens: int) -> float:
    return (input_tokens * PRICE[0] + output_tokens * PRICE[1]) / 1_000_000


@pytest.fixture
async def main_fake() -> AsyncIterator[FakeProvider]:
    fake = await FakeProvider("openai", key=KEY).start()
    yield fake
    await fake.stop()


@pytest.fixture
async def backup_fake() -> AsyncIterator[FakeProvider]:
    fake = await FakeProvider("openai", key=KEY).start()
    yield fake
    await fake.stop()


@pytest.fixture
async def claude_fake() -> AsyncIterator[FakeProvider]:
    fake = await FakeProvider("anthropic", key=KEY).start()
    yield fake
    await fake.stop()


# --- streaming, costs ------------------------------------------------------------------------


async def test_streamed_line_deltas_add_up_to_the_stored_line_and_every_call_costs_a_row(
    main_fake: FakeProvider, data_dir: Path, tmp_path: Path
) -> None:
    main_fake.queue(Reply(text=GOOD, usage=(120, 14)), Reply(text=json.dumps({"options": OPTIONS}), usage=(90, 30)))
    config = write_config(tmp_path / "llm.toml", {"main": main_fake})
    async with llm_sidecar(data_dir, config) as (_, client):
        cid = await start(client)
        said, seen = await say(client, cid, "Good morning! Busy day at the forge?")
        costs = await client.call("stats.costs")
        info = await client.call("server.info")
        history = await stored_lines(client, cid)

    assert said["provider"] == "main"
    assert said["line"]["text"] == GOOD
    assert len(seen.named("line.delta")) > 1, "the line arrives in pieces"
    assert "".join(d["text"] for d in seen.named("line.delta")) == GOOD
    assert "line.reset" not in seen.names() and "provider.fallback" not in seen.names()
    assert history[-2:] == ["Good morning! Busy day at the forge?", GOOD]

    # The persona's tuning and prompt reached the provider's wire.
    line_req = main_fake.received[0].body
    shy = PRESETS["shy"]
    assert line_req["stream"] is True and line_req["stream_options"] == {"include_usage": True}
    assert line_req["temperature"] == shy.temperature and line_req["frequency_penalty"] == shy.frequency_penalty
    # The line request also asks for the answer options (room for them added to max_tokens);
    # this reply brings none, so they are asked for in a second call below.
    assert line_req["max_tokens"] == shy.max_tokens + inline_options.EXTRA_TOKENS
    system = line_req["messages"][0]
    assert system["role"] == "system" and "Ansel" in system["content"] and shy.style in system["content"]
    assert inline_options.MARKER in system["content"]
    assert line_req["messages"][-1] == {"role": "user", "content": "Good morning! Busy day at the forge?"}

    # Answer options asked with the provider's structured output, and used.
    opt_req = main_fake.received[1].body
    assert opt_req["response_format"]["type"] == "json_schema"
    assert opt_req["response_format"]["json_schema"]["schema"] == OPTIONS_SCHEMA
    assert said["options"] == OPTIONS

    # One cost row per call, with the provider's own token counts, and stats.costs agrees.
    rows = cost_rows(data_dir)
    assert [(r["provider"], r["purpose"], r["input_tokens"], r["output_tokens"]) for r in rows] == [
        ("main", "line", 120, 14),
        ("main", "options", 90, 30),
    ]
    assert all(r["conversation_id"] == cid and r["persona_id"] == PERSONA and not r["estimated"] for r in rows)
    assert [r["usd"] for r in rows] == pytest.approx([usd(120, 14), usd(90, 30)])
    assert costs["calls"] == 2
    assert costs["total_usd"] == pytest.approx(usd(210, 44), abs=1e-6)
    assert costs["by_provider"] == {
        "main": {"calls": 2, "input_tokens": 210, "output_tokens": 44, "usd": pytest.approx(usd(210, 44), abs=1e-6)}
    }
    assert costs["by_persona"][PERSONA]["calls"] == 2 and sum(b["calls"] for b in costs["by_day"].values()) == 2
    assert [p["name"] for p in info["providers"]] == ["main", "embedded"]
    assert info["providers"][0]["state"] == "ready"


async def test_a_stream_cut_half_way_is_reset_and_the_next_provider_gives_the_whole_line(
    main_fake: FakeProvider, claude_fake: FakeProvider, data_dir: Path, tmp_path: Path
) -> None:
    main_fake.queue(Reply(mode="cut", text=GOOD, cut_after=4))
    claude_fake.default = Reply(text=GOOD2, usage=(77, 15))
    config = write_config(tmp_path / "llm.toml", {"main": main_fake, "claude": claude_fake})
    async with llm_sidecar(data_dir, config) as (_, client):
        cid = await start(client)
        said, seen = await say(client, cid, "Hello there, smith.")
        history = await stored_lines(client, cid)
        costs = await client.call("stats.costs")

    names = seen.names()
    reset = names.index("line.reset")
    partial = "".join(d["text"] for n, d in seen.items[:reset] if n == "line.delta")
    assert partial and GOOD.startswith(partial) and partial != GOOD, "some of the cut line was shown first"
    assert seen.items[reset][1]["provider"] == "main"
    fallback = seen.named("provider.fallback")
    assert len(fallback) == 1
    assert fallback[0]["from"] == "main" and fallback[0]["to"] == "claude" and fallback[0]["reason"]
    assert names.index("provider.fallback") > reset
    assert seen.shown() == GOOD2 == said["line"]["text"]
    assert said["provider"] == "claude"
    assert history[-1] == GOOD2, "the stored line is the whole second line, never the half one"
    # The Anthropic wire: system outside the messages, streamed with its own usage events.
    claude_req = claude_fake.received[0]
    assert claude_req.headers["x-api-key"] == KEY and "anthropic-version" in claude_req.headers
    assert "Ansel" in claude_req.body["system"] and claude_req.body["stream"] is True
    assert costs["by_provider"]["claude"]["input_tokens"] >= 77
    assert "main" not in costs["by_provider"], "a failed call costs nothing"


@pytest.mark.parametrize(
    ("failure", "code", "calls"),
    [
        (Reply(mode="status", status=429, headers={"Retry-After": "30"}), "provider_rate_limited", 1),
        (Reply(mode="status", status=500), "provider_overloaded", 2),
        (Reply(mode="status", status=529, error_type="overloaded_error"), "provider_overloaded", 2),
        (Reply(mode="hang"), "provider_timeout", 1),
    ],
    ids=["429-retry-after-too-long", "500-retried-once", "529", "timeout"],
)
async def test_transient_failures_fall_through_to_the_next_provider(
    failure: Reply,
    code: str,
    calls: int,
    main_fake: FakeProvider,
    backup_fake: FakeProvider,
    data_dir: Path,
    tmp_path: Path,
) -> None:
    main_fake.default = failure
    backup_fake.default = Reply(text=GOOD2)
    config = write_config(tmp_path / "llm.toml", {"main": main_fake, "backup": backup_fake})
    async with llm_sidecar(data_dir, config) as (_, client):
        cid = await start(client)
        said, seen = await say(client, cid, "Hello there, smith.")
        history = await stored_lines(client, cid)

    line_calls = [r for r in main_fake.received if "response_format" not in r.body]
    assert len(line_calls) == calls, "retried only as the failure allows (1 retry configured)"
    fallback = seen.named("provider.fallback")[0]
    assert (fallback["from"], fallback["to"], fallback["code"]) == ("main", "backup", code)
    assert fallback["reason"]
    assert said["provider"] == "backup" and said["line"]["text"] == GOOD2 == seen.shown() == history[-1]


async def test_with_no_key_at_all_every_line_is_embedded_and_the_log_says_so_once(
    main_fake: FakeProvider, backup_fake: FakeProvider, data_dir: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "llm.toml", {"main": main_fake, "backup": backup_fake})
    async with llm_sidecar(data_dir, config, key=False) as (sidecar, client):
        info = await client.call("server.info")
        cid = await start(client)
        turns = [await say(client, cid, text) for text in ("Hello!", "How is the forge?", "Any news?")]
        costs = await client.call("stats.costs")
    stderr = sidecar.stderr_text()  # complete once the sidecar has stopped

    assert main_fake.calls == 0 and backup_fake.calls == 0
    assert all(said["provider"] == "embedded" and said["line"]["text"] for said, _ in turns)
    assert all(seen.shown() == said["line"]["text"] for said, seen in turns)
    assert [p["state"] for p in info["providers"]] == ["unusable", "unusable", "embedded"]
    assert KEY_ENV in info["providers"][0]["reason"]
    # The game hears it once, on the first turn; later turns are quiet.
    first = turns[0][1].named("provider.fallback")
    assert [(f["from"], f["to"]) for f in first] == [("main", "backup"), ("backup", "embedded")]
    assert all(not seen.named("provider.fallback") for _, seen in turns[1:])
    log = (data_dir / "logs" / "sidecar.log").read_text(encoding="utf-8")
    said_once = [line for line in log.splitlines() if "no provider in the chain can run" in line]
    assert len(said_once) == 1 and KEY_ENV in said_once[0]
    assert stderr.count("no provider in the chain can run") == 1
    assert costs["by_provider"] == {"embedded": {"calls": 3, "input_tokens": 0, "output_tokens": 0, "usd": 0.0}}


# --- the key never leaks ---------------------------------------------------------------------


def data_files(data_dir: Path) -> dict[str, bytes]:
    """Raw bytes of every file under the data dir (database, WAL, shared memory, logs)."""
    return {p.name: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}


class RawGame:
    """A DEALER that keeps every frame the sidecar sends, as bytes."""

    def __init__(self, ctx: zmq.asyncio.Context, endpoint: str, token: str) -> None:
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.plain_username = b"parley"
        self.sock.plain_password = token.encode()
        self.sock.connect(endpoint)
        self.frames: list[bytes] = []
        self._ids = iter(range(1, 10_000))

    async def call(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        rid = next(self._ids)
        await self.sock.send(msgpack.packb({"id": rid, "op": op, "args": args}))
        async with asyncio.timeout(30):
            while True:
                frame = await self.sock.recv()
                self.frames.append(frame)
                msg = msgpack.unpackb(frame)
                if msg.get("id") == rid and "event" not in msg:
                    assert msg["ok"], msg
                    return dict(msg["result"])

    def close(self) -> None:
        self.sock.close(linger=0)


async def test_the_api_key_never_reaches_the_log_the_database_or_the_game(
    main_fake: FakeProvider, backup_fake: FakeProvider, data_dir: Path, tmp_path: Path, zctx: zmq.asyncio.Context
) -> None:
    # `main` expects another key: it answers 401 and echoes a masked form of the one we sent.
    main_fake.key = "sk-a-different-key-0000000000"
    backup_fake.queue(Reply(text=BAD), Reply(text=GOOD), Reply(text=json.dumps({"options": OPTIONS})))
    backup_fake.default = Reply(text=GOOD2)
    config = write_config(tmp_path / "llm.toml", {"main": main_fake, "backup": backup_fake})
    async with llm_sidecar(data_dir, config, log_level="DEBUG") as (sidecar, _):
        game = RawGame(zctx, sidecar.endpoint, sidecar.token)
        try:
            cid = (await game.call("conversation.start", {"persona": PERSONA, "player": PLAYER, "seed": 3}))[
                "conversation"
            ]
            said = await game.call("conversation.say", {"conversation": cid, "text": "Hello!", "stream": True})
            await game.call("conversation.say", {"conversation": cid, "text": "Tell me more.", "stream": False})
            await game.call("goal.set", {"conversation": cid, "goal": "build_trust"})
            await game.call("conversation.say", {"conversation": cid, "text": "What about you?", "stream": True})
            await game.call("stats.costs", {})
            await game.call("server.info", {})
        finally:
            game.close()
        running = data_files(data_dir)  # while the sidecar runs: the WAL is still there
    stopped = data_files(data_dir)  # after shutdown: checkpointed into the main file
    stderr = sidecar.stderr_text()

    assert main_fake.received[0].headers["Authorization"] == f"Bearer {KEY}", "the key was really used"
    assert said["provider"] == "backup" and said["quality"]["retries"] == 1
    fallback_reasons = [
        msgpack.unpackb(f)["data"]["reason"] for f in game.frames if b"provider.fallback" in f
    ]
    assert any("401" in r for r in fallback_reasons), fallback_reasons
    secrets = [KEY.encode(), KEY[6:20].encode(), KEY[-12:].encode()]
    assert {"sidecar.log", "parley.sqlite3", "parley.sqlite3-wal"} <= set(running), "log, database and WAL"
    assert running["parley.sqlite3-wal"], "the WAL holds this run's writes"
    for secret in secrets:
        for name, data in [*running.items(), *stopped.items()]:
            assert secret not in data, f"key material in {name}"
        assert all(secret not in frame for frame in game.frames), "key material sent to the game"
        assert secret.decode() not in stderr


# --- quality gate, options, goals ------------------------------------------------------------


async def test_the_quality_gate_retries_a_bad_line_and_keeps_the_good_one(
    main_fake: FakeProvider, data_dir: Path, tmp_path: Path
) -> None:
    main_fake.queue(Reply(text=BAD), Reply(text=GOOD), Reply(text=json.dumps({"options": OPTIONS})))
    quality = "[quality]\nthreshold = 60\nmax_retries = 2\n"
    config = write_config(tmp_path / "llm.toml", {"main": main_fake}, extra=quality)
    async with llm_sidecar(data_dir, config) as (_, client):
        before = (await client.call("server.info"))["counts"]
        cid = await start(client)
        said, seen = await say(client, cid, "Hello there, smith.")
        after = (await client.call("server.info"))["counts"]
        history = await stored_lines(client, cid)

    assert said["line"]["text"] == GOOD and said["provider"] == "main"
    assert said["quality"]["retries"] == 1 and said["quality"]["score"] >= 60
    assert history[-1] == GOOD and BAD not in history
    resets = seen.named("line.reset")
    assert resets == [{"reason": "quality", "attempt": 1}]
    assert seen.shown() == GOOD
    shown_before = "".join(d["text"] for n, d in seen.items[: seen.names().index("line.reset")] if n == "line.delta")
    assert shown_before == BAD, "the rejected line was streamed, then reset"
    assert after["quality_retries"] == before["quality_retries"] + 1
    assert after["quality_retried_lines"] == before["quality_retried_lines"] + 1
    # The retry asked differently: warmer, and told why.
    first, retry = main_fake.received[0].body, main_fake.received[1].body
    assert retry["temperature"] > first["temperature"]
    assert "previous answer was rejected" in retry["messages"][0]["content"]
    assert "previous answer was rejected" not in first["messages"][0]["content"]


def block(options: list[dict[str, str]]) -> str:
    """The answer-options block a model following `inline_options.instruction` writes."""
    return "\n".join([inline_options.MARKER, *(f"{o['intent']}: {o['text']}" for o in options)])


@pytest.mark.parametrize("stream", [True, False])
async def test_options_that_come_with_the_line_cost_no_second_call(
    main_fake: FakeProvider, data_dir: Path, tmp_path: Path, stream: bool
) -> None:
    main_fake.queue(Reply(text=f"{GOOD}\n{block(OPTIONS)}", usage=(150, 40)))
    config = write_config(tmp_path / "llm.toml", {"main": main_fake})
    async with llm_sidecar(data_dir, config) as (_, client):
        cid = await start(client)
        said, seen = await say(client, cid, "Good morning! Busy day at the forge?", stream=stream)
        history = await stored_lines(client, cid)

    assert said["provider"] == "main" and said["line"]["text"] == GOOD
    assert said["options"] == OPTIONS
    assert history[-1] == GOOD
    if stream:
        # The block is held back from the stream: the game sees the line, and only the line.
        assert len(seen.named("line.delta")) > 1
        assert seen.shown() == GOOD and inline_options.MARKER not in seen.shown()
    assert len(main_fake.received) == 1, "one provider call for the line and its options"
    assert [(r["purpose"], r["input_tokens"], r["output_tokens"]) for r in cost_rows(data_dir)] == [("line", 150, 40)]


async def test_a_retried_line_keeps_the_options_of_the_attempt_that_was_kept(
    main_fake: FakeProvider, data_dir: Path, tmp_path: Path
) -> None:
    intents = ("ask", "share", "leave")
    rejected = [{"text": f"Rejected option number {n} here.", "intent": i} for n, i in enumerate(intents)]
    main_fake.queue(Reply(text=f"{BAD}\n{block(rejected)}"), Reply(text=f"{GOOD}\n{block(OPTIONS)}"))
    quality = "[quality]\nthreshold = 60\nmax_retries = 2\n"
    config = write_config(tmp_path / "llm.toml", {"main": main_fake}, extra=quality)
    async with llm_sidecar(data_dir, config) as (_, client):
        cid = await start(client)
        said, seen = await say(client, cid, "Hello there, smith.")

    assert said["line"]["text"] == GOOD and said["quality"]["retries"] == 1
    assert seen.named("line.reset") == [{"reason": "quality", "attempt": 1}]
    assert seen.shown() == GOOD
    assert said["options"] == OPTIONS
    assert len(main_fake.received) == 2, "two line attempts, no separate options call"


async def test_a_provider_with_options_in_line_off_is_asked_for_them_separately(
    main_fake: FakeProvider, data_dir: Path, tmp_path: Path
) -> None:
    main_fake.queue(Reply(text=GOOD), Reply(text=json.dumps({"options": OPTIONS})))
    config = write_config(tmp_path / "llm.toml", {"main": main_fake}, main={"options_in_line": False})
    async with llm_sidecar(data_dir, config) as (_, client):
        cid = await start(client)
        said, _ = await say(client, cid, "Good morning! Busy day at the forge?")

    assert said["options"] == OPTIONS
    line_req = main_fake.received[0].body
    assert line_req["max_tokens"] == PRESETS["shy"].max_tokens
    assert inline_options.MARKER not in line_req["messages"][0]["content"]
    assert main_fake.received[1].body["response_format"]["type"] == "json_schema"
    assert [r["purpose"] for r in cost_rows(data_dir)] == ["line", "options"]


async def test_malformed_answer_options_fall_back_to_the_embedded_engines(
    main_fake: FakeProvider, data_dir: Path, tmp_path: Path
) -> None:
    main_fake.queue(
        Reply(text=GOOD),
        Reply(mode="malformed"),
        Reply(text=GOOD2),
        Reply(text='{"choices": "nothing like options"}'),
    )
    config = write_config(tmp_path / "llm.toml", {"main": main_fake})
    async with llm_sidecar(data_dir, config) as (_, client):
        cid = await start(client)
        first, _ = await say(client, cid, "Hello there, smith.", stream=False)
        second, _ = await say(client, cid, "What do you make here?", stream=False)

    assert first["provider"] == second["provider"] == "main"
    assert len(main_fake.received) == 4, "each turn asked the provider for options"
    for said in (first, second):
        options = said["options"]
        assert [o["intent"] for o in options] == ["ask", "share", "leave"]
        assert len({o["text"] for o in options}) == 3 and all(o["text"].strip() for o in options)
        assert not any("choices" in o["text"] or "nothing like" in o["text"] for o in options)
    rows = [(r["provider"], r["purpose"]) for r in cost_rows(data_dir)]
    assert rows == [("main", "line"), ("embedded", "options"), ("main", "line"), ("main", "options")]


async def test_the_goal_judge_decides_and_the_npc_knows_the_goal_only_if_its_persona_allows(
    main_fake: FakeProvider, data_dir: Path, tmp_path: Path
) -> None:
    personas = tmp_path / "personas"
    personas.mkdir()
    for src in PERSONAS.glob("*.toml"):
        text = src.read_text(encoding="utf-8")
        if src.stem == "goldie":
            text = text.replace('id = "goldie"', 'id = "goldie"\nreveal_goals = true', 1)
        (personas / src.name).write_text(text, encoding="utf-8")
    verdict = {"progress": 1.0, "completed": True, "reason": "She shared something personal."}
    main_fake.queue(
        Reply(text=GOOD), Reply(text=json.dumps(verdict)), Reply(text=json.dumps({"options": OPTIONS})),
        Reply(text=GOOD2), Reply(text=json.dumps({"progress": 0.3, "completed": False, "reason": "Not yet."})),
        Reply(text=json.dumps({"options": OPTIONS})),
    )
    config = write_config(tmp_path / "llm.toml", {"main": main_fake})
    async with llm_sidecar(data_dir, config, personas=personas) as (_, client):
        goldie = await start(client, "goldie")
        await client.call("goal.set", {"conversation": goldie, "goal": "build_trust"})
        said, seen = await say(client, goldie, "Nice weather today.")
        ansel = await start(client, PERSONA)
        await client.call("goal.set", {"conversation": ansel, "goal": "build_trust"})
        said2, _ = await say(client, ansel, "Nice weather today.")

    judge_req = main_fake.received[1].body
    assert judge_req["response_format"]["json_schema"]["schema"]["required"] == ["progress", "completed", "reason"]
    assert judge_req["temperature"] == 0.0
    assert "<transcript>" in judge_req["messages"][-1]["content"]
    assert said["goal"] == {"id": "build_trust", "progress": 1.0, "completed": True, "reason": verdict["reason"]}
    completed = seen.named("goal_completed")
    assert completed and completed[0]["id"] == "build_trust" and completed[0]["reward"] == 20
    assert said2["goal"]["completed"] is False and said2["goal"]["reason"] == "Not yet."
    hint = "The player is trying to"
    assert hint in main_fake.received[0].body["messages"][0]["content"], "goldie may know the goal"
    assert hint not in main_fake.received[3].body["messages"][0]["content"], "ansel may not"


# --- start-up --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('[router]\nchain = ["main"]\n', "router.chain"),
        ('[router]\nchain = ["main"]\n[providers.main]\npreset = "groq"\napi_key = "sk-inline-123456789"\n',
         "providers.main"),
        ("[router\nchain = 3\n", "not valid TOML"),
        ("[quality]\nthreshold = 150\n", "quality.threshold"),
    ],
    ids=["unknown-provider", "inline-key", "not-toml", "bad-quality"],
)
def test_a_bad_config_file_ends_serve_with_exit_2_before_the_ready_line(
    text: str, field: str, data_dir: Path, tmp_path: Path
) -> None:
    import subprocess

    config = tmp_path / "bad.toml"
    config.write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "sidecar", "serve", "--no-auth", "--data-dir", str(data_dir),
         "--personas", str(PERSONAS), "--config", str(config)],
        capture_output=True, text=True, timeout=60, env=clean_env(key=False),
    )
    assert proc.returncode == 2
    assert proc.stdout == "", "no ready line"
    assert "config_error" in proc.stderr and str(config) in proc.stderr and field in proc.stderr
    assert "sk-inline-123456789" not in proc.stderr


def test_serve_without_config_loads_no_http_client(data_dir: Path) -> None:
    """Start-up stays lean for the embedded engine alone: at the ready line, neither aiohttp
    nor the LLM package is loaded. (The probe stops serve with SIGTERM when the ready line is
    written, so nothing waits on a timer.)"""
    import subprocess

    probe = (
        "import io, os, signal, sys\n"
        "class Tap(io.StringIO):\n"
        "    loaded = None\n"
        "    def write(self, s):\n"
        "        if '\"ready\"' in s and self.loaded is None:\n"
        "            self.loaded = ('aiohttp' in sys.modules, 'sidecar.llm' in sys.modules)\n"
        "            os.kill(os.getpid(), signal.SIGTERM)\n"
        "        return len(s)\n"
        "tap, real = Tap(), sys.stdout\n"
        "sys.stdout = tap\n"
        "from sidecar.cli import main\n"
        "code = main(['serve', '--no-auth', '--data-dir', sys.argv[1], '--personas', sys.argv[2]])\n"
        "sys.stdout = real\n"
        "print(code, tap.loaded)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, str(data_dir), str(PERSONAS)],
        capture_output=True, text=True, timeout=60, env=clean_env(key=False),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "0 (False, False)"


async def test_a_spent_conversation_budget_skips_the_paid_provider_for_the_embedded_engine(
    main_fake: FakeProvider, data_dir: Path, tmp_path: Path
) -> None:
    # One line costs usd(42, 7) ≈ $0.0000105; the budget is spent after the first.
    main_fake.default = Reply(text=GOOD)
    budget = "[budgets]\nper_conversation_usd = 0.00001\n"
    config = write_config(tmp_path / "llm.toml", {"main": main_fake}, extra=budget)
    async with llm_sidecar(data_dir, config) as (_, client):
        first_cid, other_cid = await start(client), await start(client, seed=12)
        first, _ = await say(client, first_cid, "Hello there, smith.", stream=False)
        second, seen = await say(client, first_cid, "What do you make here?", stream=False)
        other, _ = await say(client, other_cid, "Hello there, smith.", stream=False)

    assert first["provider"] == "main" and other["provider"] == "main", "the budget is per conversation"
    assert second["provider"] == "embedded" and second["line"]["text"]
    [fallback] = seen.named("provider.fallback")
    assert fallback["code"] == "budget_exceeded" and "conversation budget" in fallback["reason"]
    rows = cost_rows(data_dir)
    for cid in (first_cid, other_cid):
        assert sum(r["usd"] for r in rows if r["conversation_id"] == cid) >= 0.00001


async def test_options_generate_asks_the_provider_that_wrote_the_line(
    main_fake: FakeProvider, data_dir: Path, tmp_path: Path
) -> None:
    regenerated = [
        {"text": "Who taught you to work the forge?", "intent": "ask"},
        {"text": "I once tried to forge a nail myself.", "intent": "share"},
        {"text": "I'll leave you to your anvil now.", "intent": "leave"},
    ]
    main_fake.queue(
        Reply(text=GOOD),
        Reply(text=json.dumps({"options": OPTIONS})),
        Reply(text=json.dumps({"options": regenerated})),
    )
    config = write_config(tmp_path / "llm.toml", {"main": main_fake})
    async with llm_sidecar(data_dir, config) as (_, client):
        cid = await start(client)
        said, _ = await say(client, cid, "Hello there, smith.", stream=False)
        assert said["provider"] == "main" and said["options"] == OPTIONS
        again = (await client.call("options.generate", {"conversation": cid}))["options"]
        assert again == regenerated
        chosen = await client.call("conversation.choose", {"conversation": cid, "option": 0, "stream": False})
    assert chosen["player_text"] == regenerated[0]["text"]
    assert len(main_fake.received) >= 4  # line, options, regenerated options, the chosen line's turn


# --- cancellation ----------------------------------------------------------------------------


async def _raw_say(client: Client, req_id: int, cid: str, text: str) -> None:
    frame = {"id": req_id, "op": "conversation.say", "args": {"conversation": cid, "text": text, "stream": True}}
    await client.send_raw(msgpack.packb(frame))


async def _reply(client: Client, req_id: int) -> dict[str, Any]:
    async with asyncio.timeout(20):
        while True:
            msg = await client.unmatched.get()
            if msg.get("id") == req_id and "ok" in msg:
                return msg


async def test_the_game_can_cancel_a_turn_while_it_generates_and_nothing_is_stored(
    main_fake: FakeProvider, data_dir: Path, tmp_path: Path
) -> None:
    main_fake.queue(Reply(mode="hang"), Reply(text=GOOD), Reply(text=json.dumps({"options": OPTIONS})))
    config = write_config(tmp_path / "llm.toml", {"main": main_fake})
    async with llm_sidecar(data_dir, config) as (_, client):
        cid = await start(client)
        before = await stored_lines(client, cid)
        await _raw_say(client, 9001, cid, "Tell me a long story.")
        await _raw_say(client, 9002, cid, "And another one.")  # queued behind 9001 (same conversation)
        async with asyncio.timeout(20):
            await main_fake.arrived.wait()  # 9001 is generating: the provider holds its request
        queued = await client.call("request.cancel", {"id": 9002})
        running = await client.call("request.cancel", {"id": 9001})
        unknown = await client.call("request.cancel", {"id": 4242})
        first, second = await _reply(client, 9001), await _reply(client, 9002)
        assert queued == {"cancelled": True, "state": "queued"}
        assert running == {"cancelled": True, "state": "running"}
        assert unknown == {"cancelled": False, "state": "unknown"}
        assert first["ok"] is False and first["error"]["code"] == "cancelled"
        assert second["ok"] is False and second["error"]["code"] == "cancelled"
        assert await stored_lines(client, cid) == before  # a cancelled turn stores nothing
        said, _ = await say(client, cid, "Hello again.", stream=False)  # the conversation goes on
        assert said["provider"] == "main" and said["line"]["text"] == GOOD
        assert await stored_lines(client, cid) == [*before, "Hello again.", GOOD]
