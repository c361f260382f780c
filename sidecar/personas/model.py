"""The persona file format (TOML), as a pydantic schema.

A persona is edited by modders, so every field is validated and every problem is reported
with its file and line (see `loader.py`). The same model feeds the embedded engine (greetings,
topics, opinions, facts, quirks, farewells) and LLM providers (`system_prompt`).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PERSONA_ID = r"^[a-z][a-z0-9_]{0,31}$"
PRESETS = ("shy", "outgoing", "intellectual", "flirty", "sarcastic")

ShortText = Annotated[str, Field(min_length=1, max_length=400)]
Line = Annotated[str, Field(min_length=1, max_length=600)]
Keyword = Annotated[str, Field(min_length=1, max_length=40)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Traits(_Strict):
    """0–100 stats. The personality preset is inferred from these when none is named
    (seed §3: social > 70 → outgoing, intelligence > 70 → intellectual, social < 30 → shy)."""

    social: int = Field(50, ge=0, le=100)
    intelligence: int = Field(50, ge=0, le=100)
    warmth: int = Field(50, ge=0, le=100)
    humor: int = Field(50, ge=0, le=100)
    temper: int = Field(50, ge=0, le=100)


class CustomPreset(_Strict):
    """A persona-defined personality preset (same knobs as the built-in ones)."""

    temperature: float = Field(0.8, ge=0.0, le=2.0)
    frequency_penalty: float = Field(0.5, ge=-2.0, le=2.0)
    max_tokens: int = Field(120, ge=16, le=1024)
    style: ShortText = "natural"


class Personality(_Strict):
    preset: str | None = None
    traits: Traits = Traits()
    custom: CustomPreset | None = None

    @model_validator(mode="after")
    def _preset_known(self) -> Personality:
        if self.preset is not None and self.preset not in PRESETS and self.preset != "custom":
            raise ValueError(f"unknown preset {self.preset!r}; use one of {', '.join(PRESETS)} or 'custom'")
        if self.preset == "custom" and self.custom is None:
            raise ValueError("preset 'custom' needs a [personality.custom] table")
        return self


class Speech(_Strict):
    quirks: list[ShortText] = Field(default_factory=list, max_length=20)
    """Short verbal tics the engine sprinkles in ("Hm.", "by the anvil")."""
    catchphrases: list[ShortText] = Field(default_factory=list, max_length=20)


class Topic(_Strict):
    """Player words that trigger in-character lines about a subject."""

    keywords: list[Keyword] = Field(min_length=1, max_length=30)
    lines: list[Line] = Field(min_length=1, max_length=30)

    @field_validator("keywords")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [k.lower() for k in v]


class Relationship(_Strict):
    """How this NPC sees another NPC (multi-persona scenes)."""

    affinity: int = Field(50, ge=0, le=100)
    note: ShortText | None = None


class Goal(_Strict):
    """A custom conversation goal the player may pursue with this NPC."""

    description: ShortText
    success_keywords: list[Keyword] = Field(default_factory=list, max_length=30)
    affinity_requirement: int = Field(0, ge=0, le=100)
    affinity_bonus: int = Field(0, ge=0, le=50)


class Persona(_Strict):
    id: Annotated[str, Field(pattern=PERSONA_ID)]
    name: Annotated[str, Field(min_length=1, max_length=60)]
    aliases: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(default_factory=list, max_length=10)
    role: ShortText
    bio: Annotated[str, Field(min_length=1, max_length=2000)]
    personality: Personality = Personality()
    speech: Speech = Speech()
    greetings: list[Line] = Field(min_length=1, max_length=30)
    farewells: list[Line] = Field(min_length=1, max_length=30)
    fallbacks: list[Line] = Field(default_factory=list, max_length=30)
    """Lines for when nothing the player said matches a topic."""
    topics: dict[Annotated[str, Field(pattern=PERSONA_ID)], Topic] = Field(default_factory=dict)
    opinions: dict[Annotated[str, Field(min_length=1, max_length=40)], Line] = Field(default_factory=dict)
    """Subject (a word the player may use) → what the NPC thinks of it."""
    facts: list[Line] = Field(default_factory=list, max_length=50)
    """Things the NPC knows and may share about themself or the village."""
    interests: list[Keyword] = Field(default_factory=list, max_length=30)
    """Topics that make this NPC join a multi-persona scene."""
    relationships: dict[Annotated[str, Field(pattern=PERSONA_ID)], Relationship] = Field(default_factory=dict)
    goals: dict[Annotated[str, Field(pattern=PERSONA_ID)], Goal] = Field(default_factory=dict)
    reveal_goals: bool = False
    """Whether the NPC's LLM prompt may know what the player is trying to achieve."""
    system_prompt: Annotated[str, Field(min_length=1, max_length=8000)] = (
        "You are {name}, {role} in a small village. {bio}\n"
        "Speak as {name} would: {style}. Stay in character; never mention being an AI."
    )
    schema_version: Literal[1] = 1

    @model_validator(mode="after")
    def _check(self) -> Persona:
        names = [self.name, *self.aliases]
        lowered = [n.lower() for n in names]
        if len(set(lowered)) != len(lowered):
            raise ValueError("aliases repeat the name or each other")
        for placeholder in re.findall(r"{(\w+)}", self.system_prompt):
            if placeholder not in PROMPT_PLACEHOLDERS:
                raise ValueError(
                    f"system_prompt uses unknown placeholder {{{placeholder}}}; "
                    f"known: {', '.join(sorted(PROMPT_PLACEHOLDERS))}"
                )
        if self.id in self.relationships:
            raise ValueError("a persona cannot have a relationship with itself")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the persona answers to, name first."""
        return (self.name, *self.aliases)


PROMPT_PLACEHOLDERS = frozenset(
    {"name", "role", "bio", "style", "player", "affinity", "facts", "quirks", "relationship"}
)

__all__ = [
    "PERSONA_ID",
    "PRESETS",
    "PROMPT_PLACEHOLDERS",
    "CustomPreset",
    "Goal",
    "Persona",
    "Personality",
    "Relationship",
    "Speech",
    "Topic",
    "Traits",
]
