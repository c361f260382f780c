"""The action ops and events against a real sidecar subprocess over real ZeroMQ: declare,
decide, announce before the reply, answer, pending after a `kill -9`, typed errors."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest
import zmq.asyncio

from parley_client import Client, Event, RemoteError, Sidecar

PERSONAS = Path(__file__).resolve().parents[2] / "personas"
TOLL = {
    "name": "take_toll",
    "description": "Take the bridge toll from the player.",
    "arguments": {"type": "object", "required": ["coins"], "properties": {"coins": {"type": "integer", "minimum": 1}}},
    "limits": {"once_per_conversation": True},
}


async def _mend(client: Client, seed: int = 3) -> tuple[str, dict[str, Any], list[Event]]:
    cid = (await client.call("conversation.start", {"persona": "ansel", "player": "ana", "seed": seed}))["conversation"]
    seen: list[Event] = []
    reply = await client.request(
        "conversation.say", {"conversation": cid, "text": "Can you fix my sword?", "stream": True}, on_event=seen.append
    )
    assert reply["ok"], reply
    return cid, reply["result"], seen


async def test_a_decided_action_is_announced_before_the_reply_and_answered_once(client: Client) -> None:
    cid, result, seen = await _mend(client)
    (action,) = result["actions"]
    assert action["name"] == "repair_item" and action["args"] == {"item": "sword", "price": 2}
    assert action["id"].startswith("a_")
    assert [e.data for e in seen if e.event == "npc.action"] == [action]
    assert (await client.call("actions.pending", {"conversation": cid}))["actions"] == [action]

    first = await client.call(
        "action.result", {"id": action["id"], "ok": True, "detail": "the player paid two coppers"}
    )
    again = await client.call("action.result", {"id": action["id"], "ok": False})
    assert first == again == {"accepted": True}
    assert (await client.call("actions.pending", {"conversation": cid}))["actions"] == []
    with pytest.raises(RemoteError) as err:
        await client.call("action.result", {"id": "a_ffffffffffffffff", "ok": True})
    assert err.value.code == "action_not_found"


async def test_register_and_list_with_the_file_actions(client: Client) -> None:
    listed = (await client.call("actions.list", {"persona": "ansel"}))["actions"]
    assert {(a["name"], a["source"]) for a in listed} == {
        ("repair_item", "file"), ("sell_item", "file"), ("give_errand", "file")
    }
    mend = next(a for a in listed if a["name"] == "repair_item")
    assert mend["arguments"]["required"] == ["item", "price"] and mend["conditions"] == {"affinity_min": 40}

    assert await client.call("actions.register", {"actions": [TOLL]}) == {"registered": ["take_toll"]}
    for persona in ("ansel", "goldie"):
        names = {a["name"]: a["source"] for a in (await client.call("actions.list", {"persona": persona}))["actions"]}
        assert names["take_toll"] == "runtime"
    own = {**TOLL, "name": "pour_ale", "description": "Pour the player an ale."}
    assert await client.call("actions.register", {"persona": "goldie", "actions": [own]}) == {
        "registered": ["pour_ale"]
    }
    assert "pour_ale" not in {a["name"] for a in (await client.call("actions.list", {"persona": "ansel"}))["actions"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"arguments": {"properties": {"coins": {"type": "array"}}}}, "actions.1.arguments.properties.coins.type"),
        (
            {"arguments": {"properties": {"c": {"type": "string", "pattern": "x"}}}},
            "actions.1.arguments.properties.c.pattern",
        ),
        ({"conditions": {"affinity_min": 200}}, "actions.1.conditions.affinity_min"),
        ({"limits": {"forever": True}}, "actions.1.limits.forever"),
        ({"name": "Take-Toll"}, "actions.1.name"),
    ],
)
async def test_a_refused_registration_is_bad_request_naming_the_field_and_registers_nothing(
    client: Client, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(RemoteError) as err:
        await client.call("actions.register", {"actions": [{**TOLL, "name": "fine_action"}, {**TOLL, **change}]})
    assert err.value.code == "bad_request"
    assert field in [e["field"] for e in (err.value.details or {})["errors"]]
    names = {a["name"] for a in (await client.call("actions.list", {"persona": "ansel"}))["actions"]}
    assert "fine_action" not in names and "take_toll" not in names


async def test_unknown_persona_and_conversation(client: Client) -> None:
    with pytest.raises(RemoteError) as err:
        await client.call("actions.register", {"persona": "nobody", "actions": [TOLL]})
    assert err.value.code == "persona_not_found"
    with pytest.raises(RemoteError) as err:
        await client.call("actions.pending", {"conversation": "c_none"})
    assert err.value.code == "conversation_not_found"


async def test_a_kill_9_between_decision_and_result_loses_nothing(data_dir: Path) -> None:
    zctx = zmq.asyncio.Context()
    try:
        with Sidecar(data_dir, PERSONAS) as first:
            async with Client(first.endpoint, first.token, context=zctx, timeout=30) as client:
                cid = (await client.call("conversation.start", {"persona": "ansel", "player": "ana", "seed": 3}))[
                    "conversation"
                ]
                announced: list[dict[str, Any]] = []

                def crash_on_action(event: Event) -> None:
                    # The game heard of the action: the sidecar dies before it can answer.
                    if event.event == "npc.action" and not announced:
                        announced.append(event.data)
                        assert first.proc is not None
                        os.kill(first.proc.pid, signal.SIGKILL)

                say = asyncio.ensure_future(
                    client.request(
                        "conversation.say",
                        {"conversation": cid, "text": "Please mend my axe."},
                        on_event=crash_on_action,
                    )
                )
                assert first.proc is not None
                await asyncio.get_running_loop().run_in_executor(None, first.proc.wait)
                say.cancel()
                await asyncio.gather(say, return_exceptions=True)
        assert len(announced) == 1

        with Sidecar(data_dir, PERSONAS) as second:
            async with Client(second.endpoint, second.token, context=zctx, timeout=30) as client:
                pending = (await client.call("actions.pending", {"conversation": cid}))["actions"]
                assert pending == announced
                ok = {"id": announced[0]["id"], "ok": False, "detail": "the forge was cold"}
                assert await client.call("action.result", ok) == {"accepted": True}
                assert await client.call("action.result", {**ok, "ok": True}) == {"accepted": True}
                assert (await client.call("actions.pending", {"conversation": cid}))["actions"] == []
                said = await client.call("conversation.say", {"conversation": cid, "text": "Oh well, never mind."})
                assert said["actions"] == []
    finally:
        zctx.destroy(linger=0)


async def test_a_world_condition_follows_world_set(data_dir: Path, tmp_path: Path) -> None:
    """Ansel mends only while the forge is lit: a `world` condition on his file action reads
    the facts the game stored with `world.set` (the store behind the `WorldFacts` seam)."""
    personas = tmp_path / "personas"
    shutil.copytree(PERSONAS, personas)
    ansel = personas / "ansel.toml"
    text = ansel.read_text(encoding="utf-8")
    header = "[actions.repair_item.conditions]\naffinity_min = 40\n"
    assert header in text
    ansel.write_text(text.replace(header, header + "world = { forge_lit = true }\n"), encoding="utf-8")
    zctx = zmq.asyncio.Context()
    try:
        with Sidecar(data_dir, personas) as sidecar:
            async with Client(sidecar.endpoint, sidecar.token, context=zctx, timeout=30) as client:

                async def mend() -> list[dict[str, Any]]:
                    cid = (await client.call("conversation.start", {"persona": "ansel", "player": "ana", "seed": 3}))[
                        "conversation"
                    ]
                    said = await client.call("conversation.say", {"conversation": cid, "text": "Can you fix my sword?"})
                    return list(said["actions"])

                assert await mend() == []  # no fact set: the condition fails
                await client.call("world.set", {"key": "forge_lit", "value": False})
                assert await mend() == []
                await client.call("world.set", {"key": "forge_lit", "value": True})
                (action,) = await mend()
                assert action["name"] == "repair_item" and action["args"]["item"] == "sword"
                await client.call("world.clear", {"key": "forge_lit"})
                assert await mend() == []
    finally:
        zctx.term()


async def test_an_accepted_action_is_remembered_once_as_an_event_and_a_refused_one_not(client: Client) -> None:
    cid, result, _ = await _mend(client)
    (action,) = result["actions"]
    history = (await client.call("conversation.history", {"conversation": cid}))["lines"]
    npc_line = history[-1]
    assert npc_line["speaker"] == "ansel"
    for _ in range(2):  # a repeated result answers the same and adds nothing
        ok = {"id": action["id"], "ok": True, "detail": "the player paid two coppers"}
        assert await client.call("action.result", ok) == {"accepted": True}
    memories = (await client.call("memory.list", {"persona": "ansel", "player": "ana"}))["memories"]
    events = [m for m in memories if m["kind"] == "event"]
    assert len(events) == 1
    (event,) = events
    assert event["text"] == "repair item (item: sword, price: 2), done: the player paid two coppers"
    assert event["source"] == {"conversation": cid, "seq": npc_line["seq"]}

    cid2, result2, _ = await _mend(client, seed=4)
    (refused,) = result2["actions"]
    assert await client.call("action.result", {"id": refused["id"], "ok": False, "detail": "no coin"}) == {
        "accepted": True
    }
    after = (await client.call("memory.list", {"persona": "ansel", "player": "ana"}))["memories"]
    assert [m for m in after if m["kind"] == "event"] == events
