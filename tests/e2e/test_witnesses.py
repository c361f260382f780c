"""`conversation.say`'s optional `witnesses`, through a real sidecar over real ZeroMQ: both
lines of the turn are stored as heard by the named bystanders; an unknown, repeated or
self-naming witness is refused with a typed error and stores nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import apsw
import pytest

from parley_client import Client, RemoteError


def _memory_rows(data_dir: Path) -> int:
    conn = apsw.Connection(str(data_dir / "parley.sqlite3"), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM memories").fetchall()[0][0])
    finally:
        conn.close()


def _witness_rows(data_dir: Path) -> list[tuple[int, str]]:
    conn = apsw.Connection(str(data_dir / "parley.sqlite3"), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return [
            (int(seq), str(pid))
            for seq, pid in conn.execute(
                "SELECT m.seq, w.persona_id FROM message_witnesses w JOIN messages m ON m.id=w.message_id"
                " ORDER BY m.seq, w.persona_id"
            ).fetchall()
        ]
    finally:
        conn.close()


async def test_bystanders_are_recorded_on_both_lines_of_their_turn(client: Client, data_dir: Path) -> None:
    start = await client.call("conversation.start", {"persona": "goldie", "player": "p_1", "seed": 4})
    cid = start["conversation"]
    await client.call("conversation.say", {"conversation": cid, "text": "A pint, please."})
    said = await client.call(
        "conversation.say", {"conversation": cid, "text": "I love apple cider.", "witnesses": ["rook", "hesper"]}
    )
    assert said["line"]["speaker"] == "goldie"
    chosen = await client.call("conversation.choose", {"conversation": cid, "option": 0, "witnesses": ["sorrel"]})
    assert chosen["line"]["speaker"] == "goldie"
    assert _witness_rows(data_dir) == [
        (3, "hesper"),
        (3, "rook"),
        (4, "hesper"),
        (4, "rook"),
        (5, "sorrel"),
        (6, "sorrel"),
    ]
    conn = apsw.Connection(str(data_dir / "parley.sqlite3"), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        liked = conn.execute(
            "SELECT persona_id, told_by, seq FROM memories WHERE kind='like' ORDER BY persona_id"
        ).fetchall()
    finally:
        conn.close()
    # Goldie, Captain Vane and Rook each heard it; Sorrel, standing by later, was told by Goldie
    # (a gossip; the two like each other).
    assert liked == [("goldie", None, 3), ("hesper", None, 3), ("rook", None, 3), ("sorrel", "goldie", 5)]


BAD: list[tuple[Any, str, str]] = [
    (["nobody"], "persona_not_found", "witnesses[0]"),
    (["rook", "nobody"], "persona_not_found", "witnesses[1]"),
    (["goldie"], "bad_request", "witnesses[0]"),
    (["rook", "rook"], "bad_request", "witnesses"),
    (["Rook"], "bad_request", "witnesses.0"),
    ("rook", "bad_request", "witnesses"),
    ([f"p{i}" for i in range(17)], "too_large", "witnesses"),
]


@pytest.mark.parametrize(("witnesses", "code", "field"), BAD)
async def test_a_bad_witness_list_is_refused_and_stores_nothing(
    client: Client, data_dir: Path, witnesses: Any, code: str, field: str
) -> None:
    start = await client.call("conversation.start", {"persona": "goldie", "player": "p_1", "seed": 4})
    cid = start["conversation"]
    before = (await client.call("server.info"))["counts"]
    with pytest.raises(RemoteError) as err:
        await client.call(
            "conversation.say",
            {"conversation": cid, "text": "My name is Wren and I love cider.", "witnesses": witnesses},
        )
    assert err.value.code == code
    details = err.value.details or {}
    fields = [str(e.get("field")) for e in details.get("errors", [])] + [str(details.get("field"))]
    assert any(f.startswith(field) for f in fields), details
    after = (await client.call("server.info"))["counts"]
    assert after["messages"] == before["messages"]
    assert _witness_rows(data_dir) == [] and _memory_rows(data_dir) == 0
    history = await client.call("conversation.history", {"conversation": cid})
    assert len(history["lines"]) == 1
