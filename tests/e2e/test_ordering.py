"""Requests of one conversation run in arrival order; conversations run side by side."""

from __future__ import annotations

import asyncio

import msgpack

from parley_client import Client


async def test_one_conversation_keeps_arrival_order(client: Client) -> None:
    persona = (await client.call("persona.list"))["personas"][0]["id"]
    cid = (await client.call("conversation.start", {"persona": persona, "player": "ana"}))["conversation"]
    n = 30
    for i in range(n):  # all in flight at once, no waiting between sends
        frame = {"id": 1000 + i, "op": "conversation.say", "args": {"conversation": cid, "text": f"Message {i}."}}
        await client.send_raw(msgpack.packb(frame))
    replies = {}
    async with asyncio.timeout(60):
        while len(replies) < n:
            msg = await client.unmatched.get()
            replies[msg["id"]] = msg
    assert all(r["ok"] for r in replies.values())
    # Replies were produced in order: each reply's line is the NPC line stored right after
    # its own player line.
    lines = (await client.call("conversation.history", {"conversation": cid}))["lines"]
    assert [ln["text"] for ln in lines[1::2]] == [f"Message {i}." for i in range(n)]
    assert [ln["text"] for ln in lines[2::2]] == [replies[1000 + i]["result"]["line"]["text"] for i in range(n)]


async def test_many_conversations_in_flight(client: Client) -> None:
    personas = [p["id"] for p in (await client.call("persona.list"))["personas"]]

    async def converse(k: int) -> tuple[str, list[str]]:
        persona = personas[k % len(personas)]
        start = await client.call("conversation.start", {"persona": persona, "player": f"p{k}"})
        cid = start["conversation"]
        got = [start["line"]["text"]]
        for t in range(4):
            text = f"Player {k} says line {t}."
            got.append(text)
            got.append((await client.call("conversation.say", {"conversation": cid, "text": text}))["line"]["text"])
        return cid, got

    results = await asyncio.gather(*(converse(k) for k in range(32)))
    assert len({cid for cid, _ in results}) == 32
    for cid, expected in results:
        lines = (await client.call("conversation.history", {"conversation": cid}))["lines"]
        assert [ln["text"] for ln in lines] == expected
