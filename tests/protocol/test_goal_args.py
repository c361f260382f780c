"""A custom goal (`goal.set` with a map) is validated once, at the wire: `CustomGoal` in
sidecar/protocol/ops.py, made the engine's `GoalDef` by the dispatcher.

The rejections are checked through the real dispatcher (built by sidecar/wiring.py over a
real SQLite file and the sample personas, its frames collected by a send function instead of
a socket): what the game would receive, and that nothing was stored. These are the cases
that tests/engine/test_goals.py checked against the engine's former second validator.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sidecar import wiring
from sidecar.engine.goals import GoalDef
from sidecar.protocol import ops as P
from sidecar.protocol.codec import pack, unpack
from sidecar.server.dispatch import Dispatcher, custom_goal

PERSONAS = Path(__file__).resolve().parents[2] / "personas"
PEER = b"peer-1"


def test_a_valid_custom_goal_becomes_the_engines_goal() -> None:
    args = P.GoalSetArgs.model_validate(
        {
            "conversation": "c_1",
            "goal": {
                "id": "get_sword",
                "description": " Get a sword ",
                "success_keywords": ["Sword"],
                "affinity_bonus": 10,
            },
        }
    )
    assert isinstance(args.goal, P.CustomGoal)
    assert custom_goal(args.goal) == GoalDef("get_sword", "Get a sword", "Get a sword", 0, 10, ("sword",))


def test_a_goal_id_stays_an_id() -> None:
    assert P.GoalSetArgs.model_validate({"conversation": "c_1", "goal": "ask_favor"}).goal == "ask_favor"


class Wire:
    """The dispatcher's frames, by request id."""

    def __init__(self) -> None:
        self.frames: dict[int, dict[str, Any]] = {}
        self.arrived = asyncio.Condition()

    async def send(self, prefix: Sequence[bytes], frame: bytes) -> None:
        assert list(prefix) == [PEER]
        msg = unpack(frame)
        async with self.arrived:
            if "event" not in msg:
                self.frames[msg["id"]] = msg
            self.arrived.notify_all()

    async def reply(self, req_id: int) -> dict[str, Any]:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: req_id in self.frames), 10)
        return self.frames.pop(req_id)


@pytest.fixture
async def wired(tmp_path: Path) -> AsyncIterator[tuple[Dispatcher, Wire]]:
    wire = Wire()
    async with wiring.services(tmp_path, PERSONAS, None) as services:
        dispatcher = wiring.dispatcher(services, wire.send, started=time.monotonic())
        yield dispatcher, wire
        await dispatcher.drain()


async def call(dispatcher: Dispatcher, wire: Wire, req_id: int, op: str, args: dict[str, Any]) -> dict[str, Any]:
    dispatcher.handle([PEER, pack({"id": req_id, "op": op, "args": args})])
    return await wire.reply(req_id)


@pytest.mark.parametrize(
    ("goal", "code", "field"),
    [
        ({"description": "x"}, "bad_request", "id"),
        ({"id": "Bad Id", "description": "x"}, "bad_request", "id"),
        ({"id": "ok"}, "bad_request", "description"),
        ({"id": "ok", "description": ""}, "bad_request", "description"),
        ({"id": "ok", "description": "  "}, "bad_request", "description"),
        ({"id": "ok", "description": "x" * 401}, "too_large", "description"),
        ({"id": "ok", "description": "x", "affinity_requirement": 101}, "bad_request", "affinity_requirement"),
        ({"id": "ok", "description": "x", "affinity_bonus": True}, "bad_request", "affinity_bonus"),
        ({"id": "ok", "description": "x", "affinity_bonus": 51}, "bad_request", "affinity_bonus"),
        ({"id": "ok", "description": "x", "success_keywords": "sword"}, "bad_request", "success_keywords"),
        ({"id": "ok", "description": "x", "success_keywords": [""]}, "bad_request", "success_keywords.0"),
        ({"id": "ok", "description": "x", "success_keywords": [" "]}, "bad_request", "success_keywords.0"),
        ({"id": "ok", "description": "x", "success_keywords": ["a"] * 31}, "too_large", "success_keywords"),
        ({"id": "ok", "description": "x", "reward": 3}, "bad_request", "reward"),
    ],
)
async def test_a_bad_goal_is_refused_at_the_wire_naming_its_field_and_stores_nothing(
    wired: tuple[Dispatcher, Wire], goal: dict[str, Any], code: str, field: str
) -> None:
    dispatcher, wire = wired
    start = await call(dispatcher, wire, 1, "conversation.start", {"persona": "ansel", "player": "ana"})
    cid = start["result"]["conversation"]
    reply = await call(dispatcher, wire, 2, "goal.set", {"conversation": cid, "goal": goal})
    assert reply["ok"] is False and reply["error"]["code"] == code
    details = reply["error"]["details"]
    named = details["field"] if code == "too_large" else details["errors"][0]["field"]
    assert named == f"goal.custom.{field}"
    status = await call(dispatcher, wire, 3, "goal.status", {"conversation": cid})
    assert status["result"] == {"goal": None}


async def test_a_good_custom_goal_is_stored_as_validated(wired: tuple[Dispatcher, Wire]) -> None:
    dispatcher, wire = wired
    cid = (await call(dispatcher, wire, 1, "conversation.start", {"persona": "ansel", "player": "ana"}))["result"][
        "conversation"
    ]
    goal = {"id": "get_sword", "description": "  Get a sword ", "success_keywords": [" Sword"], "affinity_bonus": 10}
    reply = await call(dispatcher, wire, 2, "goal.set", {"conversation": cid, "goal": goal})
    assert reply["ok"] is True
    assert reply["result"]["goal"]["description"] == "Get a sword"
    row = await dispatcher.services.store.goal(cid)
    assert row is not None
    assert dict(row.definition) == GoalDef("get_sword", "Get a sword", "Get a sword", 0, 10, ("sword",)).as_dict()


def test_the_wire_model_refuses_what_the_engine_never_sees() -> None:
    with pytest.raises(ValidationError):
        P.GoalSetArgs.model_validate({"conversation": "c_1", "goal": 5})
