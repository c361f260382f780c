"""Issue 11 §4 through a real sidecar: affinity and the arc follow the player's stance toward
the NPC (not the mood of the topic), and every NPC line carries an emotion and intensity."""

from __future__ import annotations

from typing import Any

from parley_client import Client

EMOTIONS = {"neutral", "joy", "sadness", "anger", "fear", "surprise", "disgust", "affection"}


async def _start(client: Client, persona: str, seed: int = 3, player: str = "ana") -> dict[str, Any]:
    return await client.call("conversation.start", {"persona": persona, "player": player, "seed": seed})


def _face(line: dict[str, Any]) -> None:
    assert line["emotion"] in EMOTIONS
    assert isinstance(line["intensity"], float) and 0.0 <= line["intensity"] <= 1.0


async def test_grief_costs_no_affinity_starts_no_conflict_and_is_met_with_sadness(client: Client) -> None:
    cid = (await _start(client, "ansel"))["conversation"]
    replies = [
        await client.call("conversation.say", {"conversation": cid, "text": text})
        for text in ("My mother died last week.", "I miss her terribly.", "We buried her by the old mill.")
    ]
    for r in replies:
        assert r["affinity"]["delta"] >= 0, r["affinity"]
        assert r["arc"] not in {"conflict", "deteriorating"}
    assert replies[0]["affinity"] == {"value": 51, "delta": 1, "reason": "confided in them"}
    assert replies[0]["line"]["emotion"] == "sadness"
    assert replies[0]["sentiment"] == "negative"  # VADER still hears a sad line


async def test_insults_cost_affinity_and_start_a_conflict(client: Client) -> None:
    cid = (await _start(client, "goldie"))["conversation"]
    replies = [
        await client.call("conversation.say", {"conversation": cid, "text": text})
        for text in ("You are a useless old hag.", "Your inn is a filthy dump.", "Shut up, you stupid fool.")
    ]
    assert all(r["affinity"]["delta"] < 0 for r in replies)
    assert replies[-1]["arc"] == "conflict"
    assert replies[0]["line"]["emotion"] == "anger"


async def test_every_npc_line_carries_a_face_and_history_keeps_it(client: Client) -> None:
    start = await _start(client, "rook")
    cid = start["conversation"]
    _face(start["line"])
    said = await client.call("conversation.say", {"conversation": cid, "text": "You have the prettiest eyes."})
    _face(said["line"])
    assert said["line"]["emotion"] == "affection"
    chosen = await client.call("conversation.choose", {"conversation": cid, "option": 0})
    _face(chosen["line"])
    end = await client.call("conversation.end", {"conversation": cid})
    _face(end["line"])
    lines = (await client.call("conversation.history", {"conversation": cid}))["lines"]
    npc = [ln for ln in lines if ln["speaker"] != "player"]
    sent = [start["line"], said["line"], chosen["line"], end["line"]]
    assert [(ln["emotion"], ln["intensity"]) for ln in npc] == [(s["emotion"], s["intensity"]) for s in sent]
    assert all(ln["emotion"] is None and ln["intensity"] is None for ln in lines if ln["speaker"] == "player")
