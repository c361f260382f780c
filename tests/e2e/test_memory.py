"""Long-term memory through a real sidecar subprocess over real ZeroMQ: a second meeting in a
new conversation, and the memory ops with their typed errors (a refused request changes
nothing stored)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from parley_client import Client, RemoteError, Sidecar

PERSONAS = Path(__file__).resolve().parents[2] / "personas"

PLAYER = "player-7"
"""Not a name: the NPC can only call the player by a name it remembers."""


async def _meet(client: Client, lines: list[str], seed: int) -> tuple[str, dict[str, Any]]:
    start = await client.call("conversation.start", {"persona": "ansel", "player": PLAYER, "seed": seed})
    for text in lines:
        await client.call("conversation.say", {"conversation": start["conversation"], "text": text})
    return start["conversation"], start


async def _memories(client: Client, persona: str = "ansel") -> list[dict[str, Any]]:
    result = await client.call("memory.list", {"persona": persona, "player": PLAYER})
    return list(result["memories"])


async def test_a_second_meeting_greets_by_name_and_brings_up_the_promise(client: Client) -> None:
    first, start = await _meet(client, ["Hello! I'm Mira.", "I promise I'll bring you a fresh trout next time."], 3)
    assert "Mira" not in start["line"]["text"]
    await client.call("conversation.end", {"conversation": first})
    remembered = await _memories(client)
    by_kind = {m["kind"]: m for m in remembered}
    assert by_kind["name"]["text"] == "The player's name is Mira."
    assert "trout" in by_kind["promise"]["text"]
    history = (await client.call("conversation.history", {"conversation": first}))["lines"]
    for m in remembered:
        assert m["source"]["conversation"] == first
        assert history[m["source"]["seq"]]["speaker"] == "player"
    assert history[by_kind["promise"]["source"]["seq"]]["text"].startswith("I promise")

    again = await client.call("conversation.start", {"persona": "ansel", "player": PLAYER, "seed": 4})
    greeting = again["line"]["text"]
    assert again["conversation"] != first
    assert "Mira" in greeting and "trout" in greeting, greeting
    assert "next time" not in greeting, "a promise's 'next time' is not said at the next meeting"
    said = await client.call("conversation.say", {"conversation": again["conversation"], "text": "What's my name?"})
    assert "Mira" in said["line"]["text"]
    # Another NPC never met the player: it remembers nothing of them.
    assert await _memories(client, "goldie") == []
    other = await client.call("conversation.start", {"persona": "goldie", "player": PLAYER, "seed": 4})
    assert "Mira" not in other["line"]["text"] and "trout" not in other["line"]["text"]


async def test_add_list_forget(client: Client) -> None:
    added = (await client.call(
        "memory.add", {"persona": "ansel", "player": PLAYER, "text": "  The player saved the mill.  "}
    ))["memory"]
    assert added["text"] == "The player saved the mill." and added["kind"] == "event"
    assert added["importance"] == 5 and added["source"] is None and added["told_by"] is None
    secret = (await client.call(
        "memory.add",
        {"persona": "ansel", "player": PLAYER, "text": "The player is the lost heir.", "kind": "secret",
         "importance": 10},
    ))["memory"]
    assert [m["id"] for m in await _memories(client)] == [secret["id"], added["id"]]
    one = await client.call("memory.list", {"persona": "ansel", "player": PLAYER, "limit": 1})
    assert [m["id"] for m in one["memories"]] == [secret["id"]]
    assert await client.call("memory.forget", {"id": secret["id"]}) == {"forgotten": True}
    assert [m["id"] for m in await _memories(client)] == [added["id"]]
    with pytest.raises(RemoteError) as err:
        await client.call("memory.forget", {"id": secret["id"]})
    assert err.value.code == "memory_not_found"


async def test_a_game_event_is_brought_up_when_the_player_speaks_of_it(client: Client) -> None:
    await client.call("memory.add", {"persona": "ansel", "player": PLAYER, "text": "The player saved the mill."})
    start = await client.call("conversation.start", {"persona": "ansel", "player": PLAYER, "seed": 5})
    text = "The mill wheel is turning again."
    said = await client.call("conversation.say", {"conversation": start["conversation"], "text": text})
    assert "saved the mill" in said["line"]["text"], said["line"]["text"]


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("memory.add", {"persona": "ansel", "player": PLAYER, "text": "   "}, "bad_request"),
    ("memory.add", {"persona": "ansel", "player": PLAYER, "text": "bell\x07"}, "bad_request"),
    ("memory.add", {"persona": "ansel", "player": PLAYER, "text": "x", "kind": "gossip"}, "bad_request"),
    ("memory.add", {"persona": "ansel", "player": PLAYER, "text": "x", "importance": 11}, "bad_request"),
    ("memory.add", {"persona": "ansel", "player": PLAYER, "text": "x", "importance": "5"}, "bad_request"),
    ("memory.add", {"persona": "ansel", "player": PLAYER, "text": "x" * 401}, "too_large"),
    ("memory.add", {"persona": "nobody", "player": PLAYER, "text": "x"}, "persona_not_found"),
    ("memory.add", {"persona": "ansel", "text": "x"}, "bad_request"),
    ("memory.list", {"persona": "ansel", "player": PLAYER, "limit": 0}, "bad_request"),
    ("memory.list", {"persona": "Ansel!", "player": PLAYER}, "bad_request"),
    ("memory.forget", {"id": 0}, "bad_request"),
    ("memory.forget", {"id": "1"}, "bad_request"),
    ("memory.forget", {"id": 987654}, "memory_not_found"),
]


async def test_bad_input_is_a_typed_error_and_changes_nothing(client: Client) -> None:
    kept = (await client.call("memory.add", {"persona": "ansel", "player": PLAYER, "text": "The player came."}))
    before = await _memories(client)
    for op, args, code in BAD:
        with pytest.raises(RemoteError) as err:
            await client.call(op, args)
        assert err.value.code == code, (op, args, err.value.message)
    assert await _memories(client) == before == [kept["memory"]]


async def test_the_configs_memory_table_sets_the_recall(tmp_path: Path) -> None:
    """`[memory] limit = 0` in the config: memories are still made, none is recalled (the
    second meeting's greeting does not bring the promise up)."""
    config = tmp_path / "parley.toml"
    config.write_text("[memory]\nlimit = 0\n", encoding="utf-8")
    data = tmp_path / "data"
    with Sidecar(data, PERSONAS, extra_args=["--config", str(config)]) as sidecar:
        async with Client(sidecar.endpoint, sidecar.token) as client:
            await _meet(client, ["Hello! I'm Mira.", "I promise I'll bring you a fresh trout next time."], 3)
            again = await client.call("conversation.start", {"persona": "ansel", "player": PLAYER, "seed": 4})
            assert "trout" not in again["line"]["text"] and "Mira" not in again["line"]["text"]
            assert {m["kind"] for m in await _memories(client)} == {"name", "promise"}
