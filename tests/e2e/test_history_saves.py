"""History, archive, save slots and world facts over the real socket of a real sidecar
(embedded engine; the busy and prompt tests use a loopback provider, tests/llm/llm_fakes.py)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from parley_client import Client, RemoteError, Sidecar

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))

from llm_fakes import FakeProvider, Reply  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
KEY_ENV = "PARLEY_E2E_HISTORY_KEY"


async def _code(client: Client, op: str, args: dict[str, Any]) -> str:
    with pytest.raises(RemoteError) as err:
        await client.call(op, args)
    return err.value.code


async def _talk(client: Client, persona: str, player: str, lines: list[str], *, end: bool) -> str:
    cid = str(
        (await client.call("conversation.start", {"persona": persona, "player": player, "seed": 7}))["conversation"]
    )
    for text in lines:
        await client.call("conversation.say", {"conversation": cid, "text": text})
    if end:
        await client.call("conversation.end", {"conversation": cid})
    return cid


async def test_list_history_search_archive_and_restore(client: Client) -> None:
    a = await _talk(client, "ansel", "mira", ["Can you mend my sword?", "It is my father's sword."], end=True)
    b = await _talk(client, "goldie", "tom", ["Is there a room for the night?"], end=True)
    c = await _talk(client, "ansel", "tom", ["My sword is chipped."], end=False)
    first = await client.call("conversation.list", {"limit": 2})
    assert [x["conversation"] for x in first["conversations"]] == [c, b] and first["cursor"]
    rest = await client.call("conversation.list", {"limit": 2, "cursor": first["cursor"]})
    assert [x["conversation"] for x in rest["conversations"]] == [a] and rest["cursor"] is None
    (one,) = rest["conversations"]
    assert one | {"started_at": 0, "updated_at": 0} == {
        "conversation": a,
        "persona": "ansel",
        "player": "mira",
        "started_at": 0,
        "updated_at": 0,
        "lines": 6,
        "ended": True,
        "archived": False,
        "kind": "conversation",
        "personas": ["ansel"],
    }
    mine = await client.call("conversation.list", {"player": "tom", "persona": "ansel"})
    assert [x["conversation"] for x in mine["conversations"]] == [c]

    lines = (await client.call("conversation.history", {"conversation": a}))["lines"]
    assert [x["seq"] for x in lines] == list(range(6))
    back = (await client.call("conversation.history", {"conversation": a, "before": 4, "limit": 2}))["lines"]
    assert [(x["seq"], x["text"]) for x in back] == [(2, lines[2]["text"]), (3, "It is my father's sword.")]

    hits = (await client.call("history.search", {"query": "sword", "player": "mira"}))["hits"]
    assert {(h["conversation"], h["seq"]) for h in hits if h["speaker"] == "player"} == {(a, 1), (a, 3)}
    assert all("[b]" in h["snippet"] and not h["archived"] for h in hits)

    stored = (await client.call("server.info"))["counts"]["messages"]
    assert await client.call("archive.run", {"older_than_days": 0}) == {"archived": 2}
    assert (await client.call("server.info"))["counts"]["messages"] == stored  # archived lines are still stored
    assert await client.call("archive.run", {"older_than_days": 0}) == {"archived": 0}
    listed = {x["conversation"]: x for x in (await client.call("conversation.list", {}))["conversations"]}
    assert (listed[a]["archived"], listed[b]["archived"], listed[c]["archived"]) == (True, True, False)
    assert listed[a]["lines"] == 6
    assert (await client.call("conversation.history", {"conversation": a}))["lines"] == lines
    archived_hits = (await client.call("history.search", {"query": "sword", "player": "mira"}))["hits"]
    assert [(h["conversation"], h["seq"]) for h in archived_hits] == [(h["conversation"], h["seq"]) for h in hits]
    assert all(h["archived"] for h in archived_hits)

    assert await client.call("archive.restore", {"conversation": a}) == {"restored": True}
    assert await client.call("archive.restore", {"conversation": a}) == {"restored": False}
    assert await _code(client, "archive.restore", {"conversation": "c_nope"}) == "conversation_not_found"
    assert not (await client.call("conversation.list", {"player": "mira"}))["conversations"][0]["archived"]


@pytest.mark.parametrize("query", ['"', "sword*", "NEAR(", "-", "a AND OR NOT b", "col:x", "}{", "'"])
async def test_a_query_is_never_an_error(client: Client, query: str) -> None:
    await _talk(client, "ansel", "mira", ["Can you mend my sword?"], end=False)
    assert isinstance((await client.call("history.search", {"query": query}))["hits"], list)


async def test_bad_history_requests_are_typed_errors(client: Client) -> None:
    assert await _code(client, "history.search", {"query": ""}) == "bad_request"
    assert await _code(client, "history.search", {"query": "   "}) == "bad_request"
    assert await _code(client, "history.search", {"query": "x" * 201}) == "too_large"
    assert await _code(client, "conversation.list", {"cursor": "garbage"}) == "bad_request"
    assert await _code(client, "conversation.list", {"limit": 0}) == "bad_request"
    assert await _code(client, "conversation.history", {"conversation": "c_x", "before": -1}) == "bad_request"
    assert await _code(client, "archive.run", {"older_than_days": -1}) == "bad_request"
    assert await _code(client, "archive.run", {}) == "bad_request"


async def test_save_slots_and_world_facts(client: Client) -> None:
    kept = await _talk(client, "ansel", "mira", ["I promise to bring iron."], end=False)
    other = await _talk(client, "goldie", "tom", ["Hello."], end=False)  # a second profile
    assert await client.call("world.set", {"key": "time_of_day", "value": "dusk"}) == {"facts": {"time_of_day": "dusk"}}
    saved = (await client.call("save.create", {"slot": "chapter-1"}))["save"]
    assert saved["slot"] == "chapter-1" and saved["bytes"] > 0
    assert [s["slot"] for s in (await client.call("save.list"))["slots"]] == ["chapter-1"]

    lost = await _talk(client, "ansel", "mira", ["After the save."], end=False)
    await client.call("world.set", {"key": "quest_iron", "value": True})
    await client.call("world.set", {"key": "gold", "value": 12.5})
    assert (await client.call("world.get", {"key": "gold"}))["facts"] == {"gold": 12.5}

    loaded = (await client.call("save.load", {"slot": "chapter-1"}))["save"]
    assert loaded["slot"] == "chapter-1"
    assert (await client.call("world.get"))["facts"] == {"time_of_day": "dusk"}
    ids = {x["conversation"] for x in (await client.call("conversation.list", {}))["conversations"]}
    assert ids == {kept, other}
    assert await _code(client, "conversation.history", {"conversation": lost}) == "conversation_not_found"
    await client.call("conversation.say", {"conversation": kept, "text": "Here is the iron."})  # play goes on

    assert await client.call("world.clear", {"key": "time_of_day"}) == {"cleared": 1}
    assert await client.call("world.clear") == {"cleared": 0}
    assert await client.call("save.delete", {"slot": "chapter-1"}) == {"deleted": True}
    assert await _code(client, "save.delete", {"slot": "chapter-1"}) == "slot_not_found"
    assert await _code(client, "save.load", {"slot": "chapter-1"}) == "slot_not_found"


@pytest.mark.parametrize(
    ("op", "args"),
    [
        ("save.create", {"slot": "../escape"}),
        ("save.create", {"slot": ""}),
        ("save.load", {"slot": "a" * 65}),
        ("save.create", {"slot": "a.b"}),
        ("world.set", {"key": "k", "value": None}),
        ("world.set", {"key": "k", "value": [1]}),
        ("world.set", {"key": "k", "value": {"a": 1}}),
        ("world.set", {"key": "bad key", "value": 1}),
        ("world.set", {"key": "k"}),
    ],
)
async def test_bad_save_and_world_requests_change_nothing(
    client: Client, data_dir: Path, op: str, args: dict[str, Any]
) -> None:
    assert await _code(client, op, args) in ("bad_request", "too_large")
    assert (await client.call("world.get"))["facts"] == {}
    assert (await client.call("save.list"))["slots"] == []
    assert not (data_dir / "saves").exists() or list((data_dir / "saves").iterdir()) == []


def _config(path: Path, fake: FakeProvider) -> Path:
    path.write_text(
        '[router]\nchain = ["main"]\n\n[limits]\ntimeout = 5.0\nretries = 0\ndeadline = 20.0\n\n'
        f'[providers.main]\nkind = "openai"\nbase_url = "{fake.base_url}"\nmodel = "fake-main"\n'
        f'api_key_env = "{KEY_ENV}"\nkeyring = false\n',
        encoding="utf-8",
    )
    return path


async def test_load_is_busy_while_a_turn_generates_and_the_prompt_knows_the_world(
    data_dir: Path, tmp_path: Path
) -> None:
    fake = await FakeProvider("openai").start()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")} | {KEY_ENV: "sk-history-test-key"}
    sidecar = Sidecar(
        data_dir, REPO / "personas", extra_args=["--config", str(_config(tmp_path / "c.toml", fake))], env=env
    ).start()
    try:
        async with Client(sidecar.endpoint, sidecar.token, timeout=30) as client:
            await client.call("world.set", {"key": "time_of_day", "value": "night"})
            cid = str((await client.call("conversation.start", {"persona": "ansel", "player": "mira"}))["conversation"])
            await client.call("save.create", {"slot": "s1"})
            fake.queue(Reply(mode="hang"))
            turn = asyncio.ensure_future(client.call("conversation.say", {"conversation": cid, "text": "Hello?"}))
            async with asyncio.timeout(20):
                await fake.arrived.wait()  # the turn is generating: read, not committed
            with pytest.raises(RemoteError) as err:
                await client.call("save.load", {"slot": "s1"})
            assert err.value.code == "busy"
            await fake.stop()  # the held request fails; the turn falls back and commits
            said = await turn
            assert said["line"]["text"]
            history = (await client.call("conversation.history", {"conversation": cid}))["lines"]
            assert [h["text"] for h in history][-2:] == ["Hello?", said["line"]["text"]]  # the load did not apply
            system = json.dumps(fake.received[0].body["messages"][0])
            assert "time of day: night" in system
            assert (await client.call("save.load", {"slot": "s1"}))["save"]["slot"] == "s1"  # alone, it loads
            assert len((await client.call("conversation.history", {"conversation": cid}))["lines"]) == 1
    finally:
        await asyncio.to_thread(sidecar.stop)
        await fake.stop()
