"""Scenes end to end: a real sidecar subprocess, real ZeroMQ, a real SQLite file; the
embedded engine, and for the cancel a loopback OpenAI-compatible server (tests/llm/llm_fakes.py)
that holds one line's reply until the test is done with it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from parley_client import Client, Sidecar
from parley_client.client import Event

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))

from llm_fakes import FakeProvider, Reply  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PERSONAS = REPO / "personas"
KEY = "sk-e2e-scene-7f3a9c1d5b2e4f60ZQXSECRETkey"
KEY_ENV = "PARLEY_E2E_SCENE_KEY"


class Seen:
    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []
        self.line = asyncio.Event()

    def __call__(self, ev: Event) -> None:
        self.items.append((ev.event, ev.data))
        if ev.event == "scene.line":
            self.line.set()

    def named(self, name: str) -> list[dict[str, Any]]:
        return [d for n, d in self.items if n == name]


async def _error(client: Client, op: str, args: dict[str, Any]) -> str:
    reply = await client.request(op, args)
    assert reply["ok"] is False, reply
    return str(reply["error"]["code"])


async def test_a_three_npc_scene_over_the_wire(client: Client) -> None:
    started = await client.call(
        "scene.start", {"personas": ["ansel", "goldie", "rook"], "player": "ana", "player_name": "Ana", "seed": 4}
    )
    scene = started["scene"]
    assert [x["speaker"] for x in started["lines"]] == ["ansel", "goldie", "rook"]
    seen = Seen()
    said = await client.call(
        "scene.say", {"scene": scene, "text": "Goldie, Rook, what is the news at the inn?"}, on_event=seen
    )
    speakers = [x["speaker"] for x in said["lines"]]
    assert speakers[:2] == ["goldie", "rook"] and said["lines"][0]["addressed_to"] == ["rook"]
    assert seen.named("scene.line") == said["lines"], "each line was sent as an event before the reply"
    assert set(said["affinity"]) == set(speakers) and said["ended"] is False and said["options"]
    history = (await client.call("scene.history", {"scene": scene}))["lines"]
    assert [h["speaker"] for h in history] == ["ansel", "goldie", "rook", "player", *speakers]
    assert [h["seq"] for h in history[4:]] == [x["seq"] for x in said["lines"]]
    listed = (await client.call("conversation.list", {"player": "ana"}))["conversations"]
    assert [(c["conversation"], c["kind"], c["personas"]) for c in listed] == [
        (scene, "scene", ["ansel", "goldie", "rook"])
    ]
    hits = (await client.call("history.search", {"query": "inn news Goldie Rook", "player": "ana"}))["hits"]
    assert [(h["conversation"], h["speaker"]) for h in hits] == [(scene, "player")]
    for persona, found in (("goldie", True), ("sorrel", False)):  # a member's scenes are its own
        args = {"query": "inn news Goldie Rook", "persona": persona}
        assert bool((await client.call("history.search", args))["hits"]) is found
    joined = await client.call("scene.join", {"scene": scene, "persona": "sorrel"})
    assert joined["present"] == ["ansel", "goldie", "rook", "sorrel"]
    left = await client.call("scene.leave", {"scene": scene, "persona": "ansel"})
    assert left["present"] == ["goldie", "rook", "sorrel"]
    farewells = (await client.call("scene.end", {"scene": scene}))["lines"]
    assert [x["speaker"] for x in farewells] == ["goldie", "rook", "sorrel"]
    assert await _error(client, "scene.say", {"scene": scene, "text": "wait"}) == "conversation_ended"


async def test_bad_scene_requests_get_typed_errors_and_change_nothing(client: Client) -> None:
    scene = (await client.call("scene.start", {"personas": ["ansel", "goldie"], "player": "ana", "seed": 1}))["scene"]
    before = (await client.call("server.info"))["counts"]["messages"]
    assert await _error(client, "scene.say", {"scene": "s_nope", "text": "hi"}) == "scene_not_found"
    assert await _error(client, "scene.history", {"scene": "s_nope"}) == "scene_not_found"
    assert await _error(client, "scene.leave", {"scene": scene, "persona": "rook"}) == "persona_not_in_scene"
    assert await _error(client, "scene.join", {"scene": scene, "persona": "ansel"}) == "bad_request"
    assert await _error(client, "scene.join", {"scene": scene, "persona": "nobody"}) == "persona_not_found"
    assert await _error(client, "scene.say", {"scene": scene, "text": "hi", "speaker": "ansel"}) == "bad_request"
    assert await _error(client, "scene.say", {"scene": scene, "text": "hi", "extra": 1}) == "bad_request"
    assert await _error(client, "scene.say", {"scene": scene, "text": "x" * 2001}) == "too_large"
    assert await _error(client, "scene.start", {"personas": ["ansel", "ansel"], "player": "ana"}) == "bad_request"
    assert (
        await _error(client, "scene.start", {"personas": ["ansel", "nobody"], "player": "ana"}) == "persona_not_found"
    )
    assert await _error(client, "scene.start", {"personas": [], "player": "ana"}) == "bad_request"
    assert await _error(client, "scene.start", {"personas": ["ansel"], "player": "ana", "max_lines": 0}) == (
        "bad_request"
    )
    assert await _error(client, "conversation.say", {"conversation": scene, "text": "hi"}) == "bad_request"
    assert await _error(client, "goal.status", {"conversation": scene}) == "bad_request"
    assert await _error(client, "options.generate", {"conversation": scene}) == "bad_request"
    lines = (await client.call("conversation.history", {"conversation": scene}))["lines"]
    assert [x["speaker"] for x in lines] == ["ansel", "goldie"], "a scene's lines read like a conversation's"
    assert (await client.call("server.info"))["counts"]["messages"] == before


# --- a newer line cancels the running exchange ------------------------------------------------


def _config(path: Path, fake: FakeProvider) -> Path:
    table = {
        "kind": "openai",
        "base_url": fake.base_url,
        "model": "fake-scene",
        "api_key_env": KEY_ENV,
        "keyring": False,
    }
    body = "\n".join(f"{k} = {json.dumps(v)}" for k, v in table.items())
    # A long timeout: the held reply must still be pending when the newer line arrives.
    path.write_text(
        '[router]\nchain = ["main"]\n\n[limits]\ntimeout = 30.0\nretries = 0\ndeadline = 60.0\n\n'
        f"[providers.main]\n{body}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
async def held() -> AsyncIterator[FakeProvider]:
    fake = await FakeProvider("openai", key=KEY).start()
    yield fake
    await fake.stop()


async def test_a_newer_line_cancels_the_rest_of_the_exchange(
    tmp_path: Path, data_dir: Path, held: FakeProvider
) -> None:
    first = "The forge is hot today, Goldie, and the iron sings."
    later = ["Goldie here: the cider is cold and the rooms are warm.", "Ansel, you always say that, dear."]
    held.queue(Reply(text=first), Reply(mode="hang"), *(Reply(text=t) for t in later))
    held.default = Reply(text="Aye, that it is, friend.")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env[KEY_ENV] = KEY
    sidecar = Sidecar(data_dir, PERSONAS, extra_args=["--config", str(_config(tmp_path / "llm.toml", held))], env=env)
    sidecar.start()
    try:
        async with Client(sidecar.endpoint, sidecar.token, timeout=60) as client:
            scene = (
                await client.call(
                    "scene.start", {"personas": ["ansel", "goldie"], "player": "ana", "seed": 3, "strategy": "list"}
                )
            )["scene"]
            seen = Seen()
            running = asyncio.ensure_future(
                client.call("scene.say", {"scene": scene, "text": "How is the village today?"}, on_event=seen)
            )
            await asyncio.wait_for(seen.line.wait(), 30)  # Ansel's line is stored; Goldie's is held
            newer = await client.call("scene.say", {"scene": scene, "text": "Never mind that. Any cider?"})
            cut = await running
            assert cut["interrupted"] is True and [x["text"] for x in cut["lines"]] == [first]
            assert seen.named("scene.line") == cut["lines"]
            history = [
                (h["speaker"], h["text"]) for h in (await client.call("scene.history", {"scene": scene}))["lines"]
            ]
            assert history[2:] == [
                ("player", "How is the village today?"),
                ("ansel", first),
                ("player", "Never mind that. Any cider?"),
                *((x["speaker"], x["text"]) for x in newer["lines"]),
            ], "nothing of the held line is stored"
            assert newer["interrupted"] is False and newer["lines"]
    finally:
        await asyncio.to_thread(sidecar.stop)


async def test_request_cancel_stops_an_exchange_the_same_way(
    tmp_path: Path, data_dir: Path, held: FakeProvider
) -> None:
    first = "The forge is hot today, Goldie, and the iron sings."
    held.queue(Reply(text=first), Reply(mode="hang"))
    held.default = Reply(text="Aye, that it is, friend.")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env[KEY_ENV] = KEY
    sidecar = Sidecar(data_dir, PERSONAS, extra_args=["--config", str(_config(tmp_path / "llm.toml", held))], env=env)
    sidecar.start()
    try:
        async with Client(sidecar.endpoint, sidecar.token, timeout=60) as client:
            args = {"personas": ["ansel", "goldie"], "player": "ana", "seed": 3, "strategy": "list"}
            scene = (await client.call("scene.start", args))["scene"]
            seen = Seen()
            running = asyncio.ensure_future(
                client.request(
                    "scene.say", {"scene": scene, "text": "How is the village today?"}, on_event=seen, req_id=777
                )
            )
            await asyncio.wait_for(seen.line.wait(), 30)
            cancel = await client.call("request.cancel", {"id": 777})
            assert cancel == {"cancelled": True, "state": "running"}
            reply = await running
            assert reply["ok"] and reply["result"]["interrupted"] is True
            assert [x["text"] for x in reply["result"]["lines"]] == [first]
            history = (await client.call("scene.history", {"scene": scene}))["lines"]
            assert [h["speaker"] for h in history] == ["ansel", "goldie", "player", "ansel"]
    finally:
        await asyncio.to_thread(sidecar.stop)
