"""Every op of protocol v1 against a real sidecar subprocess over real ZeroMQ."""

from __future__ import annotations

import re

import pytest

from parley_client import Client, RemoteError, Sidecar


async def _first_persona(client: Client) -> str:
    personas = (await client.call("persona.list"))["personas"]
    assert personas, "the sample personas must load"
    return str(personas[0]["id"])


def test_ready_line(sidecar: Sidecar) -> None:
    ready = sidecar.ready
    assert ready["event"] == "ready"
    assert re.fullmatch(r"tcp://127\.0\.0\.1:\d+", ready["endpoint"])
    assert ready["protocol"] == 1
    assert sidecar.proc is not None and ready["pid"] == sidecar.proc.pid


async def test_persona_list(client: Client) -> None:
    personas = (await client.call("persona.list"))["personas"]
    assert len(personas) >= 4
    for p in personas:
        assert set(p) >= {"id", "name", "aliases", "role", "preset"}
    assert len({p["id"] for p in personas}) == len(personas)


async def test_start_say_history_end(client: Client) -> None:
    persona = await _first_persona(client)
    start = await client.call("conversation.start", {"persona": persona, "player": "ana", "seed": 3})
    cid = start["conversation"]
    assert start["line"]["speaker"] == persona and start["line"]["text"].strip()
    assert len(start["options"]) == 3
    assert {o["intent"] for o in start["options"]} >= {"ask", "share", "leave"}

    said = await client.call("conversation.say", {"conversation": cid, "text": "Hello! How are you today?"})
    assert said["line"]["speaker"] == persona and said["line"]["text"].strip()
    assert said["sentiment"] in {"positive", "negative", "neutral"}
    assert said["provider"] == "embedded"
    assert 0 <= said["affinity"]["value"] <= 100
    assert said["affinity"]["value"] == 50 + said["affinity"]["delta"]
    assert said["affinity"]["reason"]
    assert len(said["options"]) == 3

    hist = (await client.call("conversation.history", {"conversation": cid}))["lines"]
    assert [h["text"] for h in hist] == [start["line"]["text"], "Hello! How are you today?", said["line"]["text"]]
    assert [h["speaker"] for h in hist] == [persona, "player", persona]
    assert hist[0]["at"] <= hist[1]["at"] <= hist[2]["at"]
    last = (await client.call("conversation.history", {"conversation": cid, "limit": 1}))["lines"]
    assert [h["text"] for h in last] == [said["line"]["text"]]

    end = await client.call("conversation.end", {"conversation": cid})
    assert end["line"]["speaker"] == persona and end["line"]["text"].strip()
    with pytest.raises(RemoteError) as err:
        await client.call("conversation.say", {"conversation": cid, "text": "Wait!"})
    assert err.value.code == "conversation_ended"
    hist = (await client.call("conversation.history", {"conversation": cid}))["lines"]
    assert len(hist) == 4 and hist[-1]["text"] == end["line"]["text"]


async def test_affinity_persists_across_conversations(client: Client) -> None:
    persona = await _first_persona(client)
    first = await client.call("conversation.start", {"persona": persona, "player": "bo"})
    said = await client.call(
        "conversation.say",
        {"conversation": first["conversation"], "text": "You are wonderful, thank you so much, I love it here!"},
    )
    assert said["affinity"]["delta"] > 0
    second = await client.call("conversation.start", {"persona": persona, "player": "bo"})
    assert second["affinity"]["value"] == said["affinity"]["value"]
    other = await client.call("conversation.start", {"persona": persona, "player": "cy"})
    assert other["affinity"]["value"] == 50


async def test_streaming_sends_deltas_that_add_up(client: Client) -> None:
    persona = await _first_persona(client)
    cid = (await client.call("conversation.start", {"persona": persona, "player": "ana"}))["conversation"]
    deltas: list[str] = []
    said = await client.call(
        "conversation.say",
        {"conversation": cid, "text": "Tell me something.", "stream": True},
        on_event=lambda ev: deltas.append(ev.data["text"]) if ev.event == "line.delta" else None,
    )
    assert len(deltas) >= 1
    assert "".join(deltas) == said["line"]["text"]


async def test_server_info_counts(client: Client) -> None:
    before = await client.call("server.info")
    assert before["protocol"] == 1 and before["version"]
    assert before["uptime"] >= 0
    assert "conversation.say" in before["ops"]
    persona = await _first_persona(client)
    cid = (await client.call("conversation.start", {"persona": persona, "player": "ana"}))["conversation"]
    await client.call("conversation.say", {"conversation": cid, "text": "hi"})
    after = await client.call("server.info")
    assert after["counts"]["conversations"] == before["counts"]["conversations"] + 1
    assert after["counts"]["messages"] == before["counts"]["messages"] + 3
    assert after["counts"]["requests"] > before["counts"]["requests"]
