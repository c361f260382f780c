"""Ops of save slots and world facts (issue 13 §5)."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AfterValidator, Field

from sidecar.protocol.ops import OPS, OpSpec, OutModel, WireModel

SLOT_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
WORLD_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
MAX_WORLD_TEXT = 200


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Slot = Annotated[str, Field(pattern=SLOT_PATTERN)]
WorldKey = Annotated[str, Field(pattern=WORLD_KEY_PATTERN)]
WorldValue = (
    Annotated[str, Field(max_length=MAX_WORLD_TEXT)]
    | bool
    | Annotated[int, Field(ge=-(2**53), le=2**53)]
    | Annotated[float, AfterValidator(_finite)]
)
"""A fact's value: a string (up to 200 characters), a boolean or a number."""


class SlotArgs(WireModel):
    slot: Slot
    """1–64 letters, digits, `_` and `-`."""


class SlotOut(OutModel):
    slot: str
    created_at: float
    """Unix time the save was made."""
    bytes: int = Field(ge=0)


class SaveResult(OutModel):
    save: SlotOut


class SaveListArgs(WireModel):
    pass


class SaveListResult(OutModel):
    slots: list[SlotOut]
    """Newest first."""


class SaveDeleteResult(OutModel):
    deleted: bool


class WorldSetArgs(WireModel):
    key: WorldKey
    value: WorldValue


class WorldKeyArgs(WireModel):
    key: WorldKey | None = None
    """One fact; omitted: all of them."""


class WorldFactsResult(OutModel):
    facts: dict[str, str | bool | int | float]


class WorldClearResult(OutModel):
    cleared: int = Field(ge=0)
    """How many facts were forgotten."""


OPS.update(
    {
        "save.create": OpSpec(SlotArgs, SaveResult, "Save the whole store into a slot (replacing what it held)."),
        "save.load": OpSpec(
            SlotArgs, SaveResult, "Replace the whole store with a slot; refused while turns are in flight."
        ),
        "save.list": OpSpec(SaveListArgs, SaveListResult, "Every save slot, newest first."),
        "save.delete": OpSpec(SlotArgs, SaveDeleteResult, "Delete a save slot."),
        "world.set": OpSpec(WorldSetArgs, WorldFactsResult, "Set a world fact; returns every fact."),
        "world.get": OpSpec(WorldKeyArgs, WorldFactsResult, "Every world fact, or one."),
        "world.clear": OpSpec(WorldKeyArgs, WorldClearResult, "Forget one world fact, or all of them."),
    }
)

__all__ = [
    "SLOT_PATTERN",
    "SaveDeleteResult",
    "SaveListArgs",
    "SaveListResult",
    "SaveResult",
    "SlotArgs",
    "SlotOut",
    "WorldClearResult",
    "WorldFactsResult",
    "WorldKeyArgs",
    "WorldSetArgs",
    "WorldValue",
]
