"""The persona file format (TOML), as a pydantic schema.

A persona is edited by modders, so every field is validated and every problem is reported
with its file and line (see `loader.py`). The same model feeds the embedded engine (greetings,
topics, opinions, facts, quirks, farewells) and LLM providers (`system_prompt`).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

PERSONA_ID = r"^[a-z][a-z0-9_]{0,31}$"
PRESETS = ("shy", "outgoing", "intellectual", "flirty", "sarcastic")

LINE_PLACEHOLDERS = frozenset({"player", "name"})
"""What spoken lines may contain: `{player}` (the player's name) and `{name}` (the NPC's)."""
_LINE_PATTERN = r"^(?:[^{}]|\{player\}|\{name\})*$"
_BRACED = re.compile(r"{([^{}]*)}")


def _check_line(text: str) -> str:
    """A spoken line may hold only the line placeholders, and no other braces.

    The engine fills `{player}` and `{name}` in; anything else in braces would reach the
    player verbatim (or break a formatter), so it is refused here with the known names.
    """
    for inner in _BRACED.findall(text):
        if inner not in LINE_PLACEHOLDERS:
            raise ValueError(
                f"unknown placeholder {{{inner}}}; lines may use only "
                + " and ".join(f"{{{p}}}" for p in sorted(LINE_PLACEHOLDERS, reverse=True))
            )
    if "{" in _BRACED.sub("", text) or "}" in _BRACED.sub("", text):
        raise ValueError("stray brace; write {player} or {name}, or leave braces out")
    return text


def render_line(text: str, *, player: str, name: str) -> str:
    """Fill a validated line's placeholders. Never fails: the text was checked on load, and
    the substituted values are inserted verbatim (braces in a player's name stay as typed)."""
    return _BRACED.sub(
        lambda m: {"player": player, "name": name}.get(m.group(1), m.group(0)), text
    )


ShortText = Annotated[str, Field(min_length=1, max_length=400)]
Line = Annotated[
    str,
    Field(min_length=1, max_length=600, json_schema_extra={"pattern": _LINE_PATTERN}),
    AfterValidator(_check_line),
]
"""A line the NPC says; may contain `{player}` and `{name}`."""
Keyword = Annotated[str, Field(min_length=1, max_length=40)]
Alias = Annotated[str, Field(min_length=1, max_length=60)]
Subject = Annotated[str, Field(min_length=1, max_length=40)]
Key = Annotated[str, Field(pattern=PERSONA_ID)]


class _Strict(BaseModel):
    # Attribute docstrings become descriptions in the JSON Schema modders' editors show.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, use_attribute_docstrings=True
    )


class Traits(_Strict):
    """0–100 stats. The personality preset is inferred from these when none is named
    (seed §3: social > 70 → outgoing, intelligence > 70 → intellectual, social < 30 → shy)."""

    social: int = Field(default=50, ge=0, le=100)
    intelligence: int = Field(default=50, ge=0, le=100)
    warmth: int = Field(default=50, ge=0, le=100)
    humor: int = Field(default=50, ge=0, le=100)
    temper: int = Field(default=50, ge=0, le=100)


class CustomPreset(_Strict):
    """A persona-defined personality preset (same knobs as the built-in ones)."""

    temperature: float = Field(default=0.8, ge=0.0, le=2.0)
    frequency_penalty: float = Field(default=0.5, ge=-2.0, le=2.0)
    max_tokens: int = Field(default=120, ge=16, le=1024)
    style: ShortText = "natural"


class Personality(_Strict):
    preset: str | None = Field(default=None, json_schema_extra={"enum": [*PRESETS, "custom"]})
    """How the NPC talks: shy, outgoing, intellectual, flirty, sarcastic, or custom.
    Left out, it is inferred from the traits."""
    traits: Traits = Field(default_factory=Traits)
    custom: CustomPreset | None = None
    """The knobs of a `custom` preset."""

    @field_validator("preset")
    @classmethod
    def _preset_known(cls, v: str | None) -> str | None:
        if v is not None and v not in PRESETS and v != "custom":
            raise ValueError(f"unknown preset {v!r}; use one of {', '.join(PRESETS)} or 'custom'")
        return v

    @model_validator(mode="after")
    def _custom_present(self) -> Personality:
        if self.preset == "custom" and self.custom is None:
            raise ValueError("preset 'custom' needs a [personality.custom] table")
        return self


class Speech(_Strict):
    quirks: list[ShortText] = Field(default_factory=list, max_length=20)
    """Short verbal tics the engine sprinkles in ("Hm.", "by the anvil")."""
    catchphrases: list[ShortText] = Field(default_factory=list, max_length=20)
    """Signature phrases, used more sparingly than quirks."""


class Topic(_Strict):
    """Player words that trigger in-character lines about a subject."""

    keywords: list[Keyword] = Field(min_length=1, max_length=30)
    """Words in the player's line that pick this topic (matched case-insensitively)."""
    lines: list[Line] = Field(min_length=1, max_length=30)
    """What the NPC may say about it; may use {player} and {name}."""

    @field_validator("keywords")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [k.lower() for k in v]


class Relationship(_Strict):
    """How this NPC sees another NPC (multi-persona scenes)."""

    affinity: int = Field(default=50, ge=0, le=100)
    note: ShortText | None = None


class Goal(_Strict):
    """A custom conversation goal the player may pursue with this NPC."""

    description: ShortText
    success_keywords: list[Keyword] = Field(default_factory=list, max_length=30)
    affinity_requirement: int = Field(default=0, ge=0, le=100)
    affinity_bonus: int = Field(default=0, ge=0, le=50)


class Persona(_Strict):
    """One NPC: who they are, how they talk, and what they know (one TOML file each)."""

    id: Annotated[str, Field(pattern=PERSONA_ID)]
    """Stable id the game uses (lowercase, digits, _; should match the file name)."""
    name: Annotated[str, Field(min_length=1, max_length=60)]
    """The name the NPC is shown and addressed by."""
    aliases: list[Alias] = Field(default_factory=list, max_length=10)
    """Other names players may call the NPC by (nicknames, titles)."""
    role: ShortText
    """What the NPC does in the world ("the village blacksmith")."""
    bio: Annotated[str, Field(min_length=1, max_length=2000)]
    """A short backstory, written for LLM prompts and modders."""
    personality: Personality = Field(default_factory=Personality)
    speech: Speech = Field(default_factory=Speech)
    greetings: list[Line] = Field(min_length=1, max_length=30)
    """Opening lines; may use {player} and {name}."""
    farewells: list[Line] = Field(min_length=1, max_length=30)
    """Goodbyes; may use {player} and {name}."""
    fallbacks: list[Line] = Field(default_factory=list, max_length=30)
    """Lines for when nothing the player said matches a topic."""
    topics: dict[Key, Topic] = Field(default_factory=dict)
    opinions: dict[Subject, Line] = Field(default_factory=dict)
    """Subject (a word the player may use) → what the NPC thinks of it."""
    facts: list[Line] = Field(default_factory=list, max_length=50)
    """Things the NPC knows and may share about themself or the village."""
    interests: list[Keyword] = Field(default_factory=list, max_length=30)
    """Topics that make this NPC join a multi-persona scene."""
    relationships: dict[Key, Relationship] = Field(default_factory=dict)
    """Other persona id → how this NPC feels about them."""
    goals: dict[Key, Goal] = Field(default_factory=dict)
    """Goal id → a custom goal the player may pursue with this NPC."""
    reveal_goals: bool = False
    """Whether the NPC's LLM prompt may know what the player is trying to achieve."""
    system_prompt: Annotated[str, Field(min_length=1, max_length=8000)] = (
        "You are {name}, {role} in a small village. {bio}\n"
        "Speak as {name} would: {style}. Stay in character; never mention being an AI."
    )
    """Template for LLM providers; placeholders: {name} {role} {bio} {style} {player}
    {affinity} {facts} {quirks} {relationship}."""
    schema_version: Literal[1] = 1
    """The persona file format version."""

    # Cross-field checks are field validators (not one model validator) so that each problem
    # is reported at the key that holds it, and the loader can give its line.

    @field_validator("aliases")
    @classmethod
    def _aliases_distinct(cls, v: list[str], info: ValidationInfo) -> list[str]:
        seen = {str(info.data.get("name", "")).casefold()}
        for alias in v:
            if alias.casefold() in seen:
                raise ValueError(f"alias {alias!r} repeats the name or another alias")
            seen.add(alias.casefold())
        return v

    @field_validator("system_prompt")
    @classmethod
    def _prompt_placeholders(cls, v: str) -> str:
        for placeholder in re.findall(r"{(\w+)}", v):
            if placeholder not in PROMPT_PLACEHOLDERS:
                raise ValueError(
                    f"system_prompt uses unknown placeholder {{{placeholder}}}; "
                    f"known: {', '.join(sorted(PROMPT_PLACEHOLDERS))}"
                )
        return v

    @field_validator("relationships")
    @classmethod
    def _not_self(cls, v: dict[str, Relationship], info: ValidationInfo) -> dict[str, Relationship]:
        if info.data.get("id") in v:
            raise ValueError("a persona cannot have a relationship with itself")
        return v

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the persona answers to, name first."""
        return (self.name, *self.aliases)


PROMPT_PLACEHOLDERS = frozenset(
    {"name", "role", "bio", "style", "player", "affinity", "facts", "quirks", "relationship"}
)

__all__ = [
    "LINE_PLACEHOLDERS",
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
    "render_line",
]
