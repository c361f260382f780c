"""The sidecar's own frame codec against the shared golden vectors (engine_bindings/vectors)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sidecar.protocol.codec import FrameError, pack, unpack

VECTORS = Path(__file__).resolve().parents[2] / "engine_bindings" / "vectors"
MUST_FAIL = sorted(p for p in VECTORS.glob("err_*.msgpack"))


def test_there_are_failure_vectors() -> None:
    assert len(MUST_FAIL) >= 10


@pytest.mark.parametrize("path", MUST_FAIL, ids=lambda p: p.stem)
def test_every_must_fail_vector_is_a_frame_error(path: Path) -> None:
    meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    with pytest.raises(FrameError):
        unpack(path.read_bytes())
    assert meta  # the JSON beside it describes why it must fail


def test_round_trip_of_an_envelope() -> None:
    env = {"id": 7, "op": "conversation.say", "args": {"conversation": "c_1", "text": "héllo ✓"}}
    assert unpack(pack(env)) == env
