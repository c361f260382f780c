"""`conversation.start`'s optional `player_name`, through a real sidecar over real ZeroMQ:
the NPC uses the name, never asks for it, never offers "I'm X, by the way", answers
"What's my name?" with it; a bad name is refused at the wire and changes nothing stored."""

from __future__ import annotations

import re
from typing import Any

import pytest

from parley_client import Client, RemoteError

ASKS_FOR_NAME = re.compile(
    r"(?:catch|caught|told me|tell me|what(?:'s| is)) your name|what do i call you|and you are",
    re.IGNORECASE,
)
PERSONAS = ("ansel", "goldie", "sorrel", "rook", "hesper")
SMALL_TALK = (
    "Hello!",
    "How are you today?",
    "Tell me about the village.",
    "What's the weather been like?",
    "Any news?",
    "Nice weather we're having.",
    "I like your place.",
)


@pytest.mark.parametrize("persona", PERSONAS)
async def test_a_known_name_is_used_and_never_asked_for(client: Client, persona: str) -> None:
    start = await client.call(
        "conversation.start", {"persona": persona, "player": "p_7", "player_name": "Wren", "seed": 11}
    )
    cid = start["conversation"]
    npc_lines = [start["line"]["text"]]
    offered = [o["text"] for o in start["options"]]
    for text in SMALL_TALK:
        said = await client.call("conversation.say", {"conversation": cid, "text": text})
        npc_lines.append(said["line"]["text"])
        offered.extend(o["text"] for o in said["options"])
    for line in npc_lines:
        assert not ASKS_FOR_NAME.search(line), (persona, line)
    assert not [o for o in offered if "by the way" in o], (persona, offered)
    asked = await client.call("conversation.say", {"conversation": cid, "text": "What's my name?"})
    assert "Wren" in asked["line"]["text"], asked["line"]["text"]


async def test_without_a_name_the_npc_says_it_does_not_know(client: Client) -> None:
    start = await client.call("conversation.start", {"persona": "ansel", "player": "p_7", "seed": 11})
    asked = await client.call("conversation.say", {"conversation": start["conversation"], "text": "What's my name?"})
    assert "Wren" not in asked["line"]["text"]
    assert re.search(r"name", asked["line"]["text"], re.IGNORECASE), asked["line"]["text"]


async def test_surrounding_spaces_are_trimmed(client: Client) -> None:
    start = await client.call(
        "conversation.start", {"persona": "goldie", "player": "p_7", "player_name": "  Wren ", "seed": 2}
    )
    asked = await client.call("conversation.say", {"conversation": start["conversation"], "text": "Who am I?"})
    assert "Wren" in asked["line"]["text"] and "  Wren" not in asked["line"]["text"]


BAD_NAMES: list[tuple[Any, str]] = [
    ("", "bad_request"),
    ("   ", "bad_request"),
    ("Wren\x07", "bad_request"),
    ("Wr\nen", "bad_request"),
    ("\x1b[31mWren", "bad_request"),
    ("Wren\u202e", "bad_request"),  # a right-to-left override would flip the NPC's line
    ("W" * 41, "too_large"),
    (7, "bad_request"),
    (["Wren"], "bad_request"),
]


@pytest.mark.parametrize(("name", "code"), BAD_NAMES)
async def test_a_bad_name_is_refused_and_nothing_is_stored(client: Client, name: Any, code: str) -> None:
    before = (await client.call("server.info"))["counts"]
    with pytest.raises(RemoteError) as err:
        await client.call("conversation.start", {"persona": "ansel", "player": "p_7", "player_name": name})
    assert err.value.code == code
    details = err.value.details or {}
    fields = [e.get("field") for e in details.get("errors", [])] + [details.get("field")]
    assert "player_name" in fields, details
    after = (await client.call("server.info"))["counts"]
    assert (after["players"], after["conversations"], after["messages"]) == (
        before["players"],
        before["conversations"],
        before["messages"],
    )
