"""The persona file format (TOML), as a pydantic schema.

A persona is edited by modders, so every field is validated and every problem is reported
with its file and line (see `loader.py`). The same model feeds the embedded engine (greetings,
topics, opinions, facts, quirks, farewells) and LLM providers (`system_prompt`).
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from sidecar.personas.actions import ACTION_NAME, MAX_ACTIONS, ActionDef
from sidecar.protocol.saves import MAX_WORLD_TEXT, WORLD_KEY_PATTERN

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


REQUEST_PLACEHOLDERS = frozenset({*LINE_PLACEHOLDERS, "item"})
"""What a request's answer lines may contain besides the line placeholders: `{item}`, the
thing the player named ("sword" in "Can you fix my sword?")."""
_REQUEST_LINE_PATTERN = r"^(?:[^{}]|\{player\}|\{name\}|\{item\})*$"


def _check_request_line(text: str) -> str:
    """Like `_check_line`, with `{item}` allowed too."""
    for inner in _BRACED.findall(text):
        if inner not in REQUEST_PLACEHOLDERS:
            raise ValueError(
                f"unknown placeholder {{{inner}}}; request lines may use only {{player}}, {{name}} and {{item}}"
            )
    if "{" in _BRACED.sub("", text) or "}" in _BRACED.sub("", text):
        raise ValueError("stray brace; write {player}, {name} or {item}, or leave braces out")
    return text


def uses_item(line: str) -> bool:
    """Whether a request line needs the item the player named."""
    return "{item}" in line


ShortText = Annotated[str, Field(min_length=1, max_length=400)]
Line = Annotated[
    str,
    Field(min_length=1, max_length=600, json_schema_extra={"pattern": _LINE_PATTERN}),
    AfterValidator(_check_line),
]
"""A line the NPC says; may contain `{player}` and `{name}`."""
RequestLine = Annotated[
    str,
    Field(min_length=1, max_length=600, json_schema_extra={"pattern": _REQUEST_LINE_PATTERN}),
    AfterValidator(_check_request_line),
]
"""An answer to a request; may contain `{player}`, `{name}` and `{item}`."""
Keyword = Annotated[str, Field(min_length=1, max_length=40)]
Alias = Annotated[str, Field(min_length=1, max_length=60)]
Subject = Annotated[str, Field(min_length=1, max_length=40)]
Key = Annotated[str, Field(pattern=PERSONA_ID)]
WorldKey = Annotated[str, Field(pattern=WORLD_KEY_PATTERN)]
WorldFact = Annotated[str, Field(max_length=MAX_WORLD_TEXT)] | bool | int | float
"""A world fact's value a topic waits for (the protocol's `world.set` values)."""


class _Strict(BaseModel):
    # Attribute docstrings become descriptions in the JSON Schema modders' editors show
    # (`_describe_fields`, at the end of this module, before any model is built).
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True)


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


UNION_TAGS = frozenset({"line", "table"})
"""The tags of a field that takes a line or a table (`Speech.catchphrases`): pydantic puts
them in an error's key path, where the loader takes them out again."""


class Catchphrase(_Strict):
    """A signature line said only in a reply about one of `topics`."""

    text: ShortText
    topics: list[Subject] = Field(min_length=1, max_length=20)
    """Keys of this persona's `[topics.<key>]` or `[opinions]`: "Nobody leaves the Heron
    hungry." belongs after talk of food, not after a thank-you."""


class Speech(_Strict):
    quirks: list[ShortText] = Field(default_factory=list, max_length=20)
    """Short verbal tics the engine sprinkles in ("Hm.", "by the anvil")."""
    catchphrases: list[Annotated[
        Annotated[ShortText, Tag("line")] | Annotated[Catchphrase, Tag("table")],  # UNION_TAGS
        Discriminator(lambda v: "line" if isinstance(v, str) else "table"),
    ]] = Field(default_factory=list, max_length=20)
    """Signature phrases, used more sparingly than quirks, never after a question the NPC
    asks. A plain string may follow any reply; `{ text = "...", topics = ["food"] }` only
    a reply about one of those topics."""

    @property
    def catchphrase_lines(self) -> tuple[str, ...]:
        """Every catchphrase's text, whatever it is said about."""
        return tuple(c if isinstance(c, str) else c.text for c in self.catchphrases)

    def catchphrases_about(self, about: str | None) -> list[str]:
        """The catchphrases a reply about `about` (a topic or opinion key; None: nothing in
        particular) may end with."""
        return [c if isinstance(c, str) else c.text for c in self.catchphrases
                if isinstance(c, str) or (about is not None and about in c.topics)]


class Topic(_Strict):
    """Player words that trigger in-character lines about a subject."""

    keywords: list[Keyword] = Field(min_length=1, max_length=30)
    """Words in the player's line that pick this topic (matched case-insensitively)."""
    lines: list[Line] = Field(min_length=1, max_length=30)
    """What the NPC may say about it; may use {player} and {name}."""
    when: dict[WorldKey, WorldFact] = Field(default_factory=dict, max_length=16)
    """World facts that must all hold for the NPC to talk about this (the game sets them
    with `world.set`): `when = { time_of_day = "night" }`. Default: always."""

    @field_validator("keywords")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [k.lower() for k in v]


def _lowered(words: list[str]) -> list[str]:
    return [w.lower() for w in words]


class Request(_Strict):
    """Something the player may ask this NPC to do, sell or give: the NPC's trade.

    A player's line asks for it when it names one of the `keywords`, or one of the `items` (or
    `refuse`d items) in a request ("can you…", "I need…", "do you sell…"). The NPC then answers
    with one of `answers` (or `refusals`, for a refused item) instead of a topic line, and other
    NPCs point the player here when asked for it ("Try Ansel: he mends blades…").
    """

    offer: ShortText
    """What the NPC does, as a phrase that follows its name: "mends blades, tools and
    anything iron". Other NPCs say it when they send the player here."""
    keywords: list[Keyword] = Field(min_length=1, max_length=60)
    """Words that ask for it ("fix", "mend", "repair", "chipped"; matched as whole words, any
    case, plurals included; list other verb forms, "fixing", yourself)."""
    items: list[Keyword] = Field(default_factory=list, max_length=40)
    """Things the request is about ("sword", "plough"). The one the player named fills
    `{item}` in the answer; an item in a request line is enough to trigger it."""
    answers: list[RequestLine] = Field(min_length=1, max_length=30)
    """What the NPC says yes with. Lines with `{item}` are used only when the player named an
    item, so at least one line must do without it."""
    refuse: list[Keyword] = Field(default_factory=list, max_length=40)
    """Items the NPC says no to ("a new sword" to a smith who only mends them)."""
    refusals: list[RequestLine] = Field(default_factory=list, max_length=30)
    """What the NPC says no with, for an item in `refuse`; may use `{item}`."""
    prices: list[RequestLine] = Field(default_factory=list, max_length=8)
    """What the NPC says when asked what it costs ("How much is the stew?", or "How much?"
    right after its answer); may use `{item}`. Without any, it says in its voice that the
    price will be fair. (An action's own `quote` names the price when one decides it.)"""

    @field_validator("keywords", "items", "refuse")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return _lowered(v)

    @field_validator("answers")
    @classmethod
    def _one_without_item(cls, v: list[str]) -> list[str]:
        if all(uses_item(line) for line in v):
            raise ValueError("at least one answer must do without {item} (the player may name none)")
        return v

    @model_validator(mode="after")
    def _refusals_present(self) -> Request:
        if self.refuse and not self.refusals:
            raise ValueError("`refuse` needs `refusals`: the lines the NPC says no with")
        if self.refusals and not self.refuse:
            raise ValueError("`refusals` need `refuse`: the items the NPC says no to")
        return self


RELATIONSHIP_KINDS = (
    "friend",
    "family",
    "sweetheart",
    "mentor",
    "pupil",
    "colleague",
    "neighbour",
    "acquaintance",
    "rival",
    "enemy",
)
"""What one NPC is to another (personas/README.md): a closed set, so engines and prompts can
rely on it; anything else is refused at the `kind` line."""


class Relationship(_Strict):
    """How this NPC sees another NPC (gossip, multi-persona scenes)."""

    kind: str = Field(default="acquaintance", json_schema_extra={"enum": list(RELATIONSHIP_KINDS)})
    """What the other NPC is to this one: friend, family, sweetheart, mentor, pupil,
    colleague, neighbour, acquaintance, rival or enemy."""
    affinity: int = Field(default=50, ge=0, le=100)
    """How this NPC feels about the other at the start: 0 (loathes) to 100 (adores); the
    store keeps how it changes."""
    note: ShortText | None = None

    @field_validator("kind")
    @classmethod
    def _kind_known(cls, v: str) -> str:
        if v not in RELATIONSHIP_KINDS:
            raise ValueError(f"unknown kind {v!r}; use one of {', '.join(RELATIONSHIP_KINDS)}")
        return v


class Goal(_Strict):
    """A custom conversation goal the player may pursue with this NPC."""

    description: ShortText
    success_keywords: list[Keyword] = Field(default_factory=list, max_length=30)
    affinity_requirement: int = Field(default=0, ge=0, le=100)
    affinity_bonus: int = Field(default=0, ge=0, le=50)


# --- phrase tables -------------------------------------------------------------------------


@dataclass(frozen=True)
class PhraseTable:
    """One of the embedded engine's phrase tables (sidecar/data/*.toml): its shape, the
    placeholders its lines may use, and whether a persona's `[phrases]` may add lines to it.

    Shapes: a plain list; `voiced` (one list per voice: shy, outgoing, intellectual, flirty,
    sarcastic); `keys` (one list per key); or both (`[react.shy] friendly = [...]`)."""

    doc: str
    placeholders: frozenset[str] = frozenset()
    voiced: bool = False
    keys: tuple[str, ...] = ()
    extensible: bool = True
    file: str = "phrases.toml"
    min_lines: int = 1
    max_lines: int = 100


_FILL = frozenset({"addr", "npc", "role", "pname"})
"""{addr} how the NPC addresses the player (may be empty: ", {addr}" then disappears), {npc}
the NPC's name, {role} its role, {pname} the name the player gave."""
_LIKE = _FILL | {"verb", "like"}
_OPTION = frozenset({"s"})
_TONES = ("friendly", "rude", "sympathy", "comfort", "concern")
"""Reaction keys: the player's stance toward the NPC (engine/tone.py) is warm (friendly) or
hostile (rude); sad news told without hostility gets sympathy, a fear comfort, the player's
own hurt or illness concern."""

_LEANINGS = ("agree", "argue", "neutral")
"""Scene keys: how the speaker leans toward the NPC it speaks to (engine/scene/cue.py)."""

PHRASE_TABLES: Mapping[str, PhraseTable] = MappingProxyType({
    "hesitations": PhraseTable("Shy openers (the shy voice's signature)."),
    "dry_openers": PhraseTable("Sarcastic openers."),
    "bright_openers": PhraseTable("Outgoing openers."),
    "measured_openers": PhraseTable("Intellectual openers."),
    "close_warm": PhraseTable("Extra warmth at high affinity.", _FILL),
    "guarded_tails": PhraseTable("Greeting tails at low affinity."),
    "close_tails": PhraseTable("Greeting tails at high affinity.", _FILL),
    "no_facts": PhraseTable("Asked about itself, the persona has no fact left."),
    "no_jokes": PhraseTable("Asked for a joke, the persona has none.", _FILL, voiced=True),
    "jokes_told": PhraseTable("Asked for a joke, the persona told each of its jokes moments ago.", _FILL, voiced=True),
    "joke_laughed": PhraseTable("The player laughed at the joke the persona just told.", _FILL, voiced=True),
    "joke_flopped": PhraseTable("The joke the persona just told fell flat.", _FILL, voiced=True),
    "declined": PhraseTable(
        "The player said no to the price or the errand the persona just named (a rule's quote or offer).",
        _FILL, voiced=True,
    ),
    "applause": PhraseTable(
        'The whole line praises what the persona just did ("That was beautiful.", "Bravo!").', _FILL, voiced=True
    ),
    "work_later": PhraseTable(
        "Asked for work in a scene, the persona has an errand but gives it only one to one.", _FILL, voiced=True
    ),
    "no_work": PhraseTable(
        "Asked for work, the persona has no errand to give (none declared, or given already).", _FILL, voiced=True
    ),
    "change_subject": PhraseTable(
        "Every wording collided with the no-repeat window: change the subject.", min_lines=9
    ),
    "affection_flirty": PhraseTable('A flirty NPC told "I like you".'),
    "asides": PhraseTable("An aside after a substantive answer.", _FILL, voiced=True),
    "questions": PhraseTable("A question back to the player.", _FILL, voiced=True),
    "greet_questions": PhraseTable("A question back after the player's hello (what brings them).", _FILL, voiced=True),
    "ask_name": PhraseTable("Asking the player's name (once).", voiced=True),
    "name_ack": PhraseTable("The player told their name.", _FILL, voiced=True),
    "like_ack": PhraseTable("The player said they like {like} ({verb}: love, enjoy…).", _LIKE, voiced=True),
    "dislike_ack": PhraseTable("The player said they dislike {like}.", _LIKE, voiced=True),
    "name_known": PhraseTable('"What\'s my name?", when the NPC knows it.', _FILL, voiced=True),
    "name_unknown": PhraseTable('"What\'s my name?", never told.', _FILL, voiced=True),
    "likes_unknown": PhraseTable('"What do I like?", never told.', voiced=True),
    "likes_lead": PhraseTable(
        'Start of the answer to "What do I like?".', voiced=True, extensible=False, max_lines=1
    ),
    "recall": PhraseTable("Bringing up a like from an earlier turn.", _LIKE, voiced=True),
    "recall_dislike": PhraseTable("Bringing up a dislike from an earlier turn.", _LIKE, voiced=True),
    "self_name": PhraseTable('"Who are you?": the name.', _FILL, voiced=True),
    "self_role": PhraseTable('"Who are you?": the role.', _FILL, voiced=True),
    "self_no_role": PhraseTable('"Who are you?": when the role holds the NPC\'s name.', _FILL, voiced=True),
    "generic": PhraseTable("Fallback when the persona has no fallback line left.", voiced=True),
    "hooks": PhraseTable("Suggesting a topic {kw} the player has not asked about.", _FILL | {"kw"}, voiced=True),
    "again": PhraseTable("A bank answer said moments ago.", _FILL, voiced=True),
    "exhausted": PhraseTable("Every line of topic {kw} was said recently.", _FILL | {"kw"}, voiced=True),
    "react": PhraseTable(
        "Reaction to the player's tone: friendly, rude; sympathy for sad news, comfort for a fear, concern for a hurt.",
        _FILL, voiced=True, keys=_TONES,
    ),
    "guarded_react": PhraseTable("Reaction to the player's tone at low affinity (same keys as react).", keys=_TONES),
    "smalltalk": PhraseTable(
        "Small talk: how are you, hello, thanks, sorry.", _FILL, voiced=True,
        keys=("how", "hello", "thanks", "sorry"),
    ),
    "farewell_tails": PhraseTable("Farewell tails by affinity band.", _FILL, keys=("close", "guarded")),
    "scene_react": PhraseTable(
        "In a scene, said first to the NPC {to} whose line this one answers, by leaning.",
        _FILL | {"to"}, voiced=True, keys=_LEANINGS, file="scene.toml",
    ),
    "scene_handoff": PhraseTable(
        "In a scene, said last, turning to the NPC {to} addressed next, by leaning.",
        _FILL | {"to"}, voiced=True, keys=_LEANINGS, file="scene.toml",
    ),
    "scene_joke": PhraseTable(
        "In a scene, the answer to the joke the NPC {to} just told, by leaning (argue: a groan).",
        _FILL | {"to"}, voiced=True, keys=_LEANINGS, file="scene.toml",
    ),
    "scene_aside": PhraseTable(
        "In a scene, the whole answer to the NPC {to} when the speaker has nothing of its own to add and"
        " leans neither way.",
        _FILL | {"to"}, voiced=True, file="scene.toml",
    ),
    "ask_subject": PhraseTable("Option: ask about subject {s}.", _OPTION, file="options.toml", extensible=False),
    "ask_opinion": PhraseTable("Option: ask the NPC's opinion of {s}.", _OPTION, file="options.toml", extensible=False),
    "ask_generic": PhraseTable("Option: ask, when nothing better fits.", file="options.toml", extensible=False),
    "ask_guarded": PhraseTable("Option: ask, at low affinity.", file="options.toml", extensible=False),
    "share_like": PhraseTable("Option: share a like {s}.", _OPTION, file="options.toml", extensible=False),
    "share_subject": PhraseTable("Option: share about subject {s}.", _OPTION, file="options.toml", extensible=False),
    "share_name": PhraseTable("Option: introduce oneself as {s}.", _OPTION, file="options.toml", extensible=False),
    "share_sorry": PhraseTable("Option: apologise, at low affinity.", file="options.toml", extensible=False),
    "share_generic": PhraseTable("Option: share, when nothing better fits.", file="options.toml", extensible=False),
    "leave": PhraseTable("Option: take one's leave (must read as a goodbye).", file="options.toml", extensible=False),
})
"""Every phrase table the embedded engine has, by name: the one spec the bundled data files
and a persona's `[phrases]` are both checked against."""
PHRASE_LINES_MAX = 30
"""Lines a persona may add to one table (per key)."""


def phrase_problem(table: PhraseTable, text: str) -> str | None:
    """Why `text` cannot be a line of `table` (an unknown placeholder, a stray brace), else None."""
    for inner in _BRACED.findall(text):
        if inner not in table.placeholders:
            allowed = ", ".join(f"{{{p}}}" for p in sorted(table.placeholders)) or "no placeholders"
            return f"unknown placeholder {{{inner}}}; this table may use {allowed}"
    if "{" in _BRACED.sub("", text) or "}" in _BRACED.sub("", text):
        return "stray brace"
    return None


def _phrases_schema() -> dict[str, Any]:
    lines = {
        "type": "array",
        "maxItems": PHRASE_LINES_MAX,
        "items": {"type": "string", "minLength": 1, "maxLength": 300},
    }
    props: dict[str, Any] = {}
    for name, t in PHRASE_TABLES.items():
        if not t.extensible:
            continue
        where = "every voice's list" if t.voiced else "the list"
        if t.keys:
            props[name] = {
                "type": "object",
                "additionalProperties": False,
                "description": f"{t.doc} Lines added to {where}, by key.",
                "properties": {k: lines for k in t.keys},
            }
        else:
            props[name] = {**lines, "description": f"{t.doc} Lines added to {where}."}
    return {
        "type": "object",
        "additionalProperties": False,
        "description": "Lines this persona adds to the embedded engine's phrase tables "
        "(see sidecar/data/README.md for each table's placeholders).",
        "properties": props,
    }


PhraseLines = Annotated[list[Annotated[str, Field(min_length=1, max_length=300)]], Field(max_length=PHRASE_LINES_MAX)]
PersonaPhrases = Annotated[dict[str, PhraseLines | dict[str, PhraseLines]], WithJsonSchema(_phrases_schema())]


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
    greetings: list[Line] = Field(min_length=1, max_length=30)
    """Opening lines; may use {player} and {name}."""
    farewells: list[Line] = Field(min_length=1, max_length=30)
    """Goodbyes; may use {player} and {name}."""
    fallbacks: list[Line] = Field(default_factory=list, max_length=30)
    """Lines for when nothing the player said matches a topic."""
    topics: dict[Key, Topic] = Field(default_factory=dict)
    opinions: dict[Subject, Line] = Field(default_factory=dict)
    """Subject (a word the player may use) → what the NPC thinks of it."""
    requests: dict[Key, Request] = Field(default_factory=dict)
    """Request id → something the player may ask this NPC to do (its trade: mending, a room,
    a remedy, a song, a report to the Watch)."""
    speech: Speech = Field(default_factory=Speech)
    """Quirks and catchphrases (after `topics` and `opinions`: a catchphrase names their keys)."""
    facts: list[Line] = Field(default_factory=list, max_length=50)
    """Things the NPC knows and may share about themself or the village."""
    jokes: list[Line] = Field(default_factory=list, max_length=30)
    """Jokes, riddles or funny stories the NPC tells when asked for one ("Tell me a joke."),
    each not again until the no-repeat window has passed. Without any, the NPC says in its
    voice that it has none."""
    interests: list[Keyword] = Field(default_factory=list, max_length=30)
    """Topics that make this NPC join a multi-persona scene."""
    talkativeness: float = Field(default=0.5, ge=0.0, le=1.0)
    """How readily this NPC speaks up in a multi-NPC scene, 0 (only when asked) to 1: the
    chance that it answers a line addressed to it, before its relationships raise it and
    each further line lowers it. 0.5 is the default."""
    relationships: dict[Key, Relationship] = Field(default_factory=dict)
    """Other persona id → how this NPC feels about them."""
    goals: dict[Key, Goal] = Field(default_factory=dict)
    """Goal id → a custom goal the player may pursue with this NPC."""
    phrases: PersonaPhrases = Field(default_factory=dict)
    """Lines added to the embedded engine's phrase tables, by table name."""
    actions: dict[Annotated[str, Field(pattern=ACTION_NAME)], ActionDef] = Field(
        default_factory=dict, max_length=MAX_ACTIONS
    )
    """Action name → something the NPC may do besides speaking (mend an item, open a gate):
    the game carries it out when the NPC decides it (personas/README.md, "Actions")."""
    gossip: bool = Field(default=False, strict=True)
    """Whether this NPC passes on what it knows about the player (never secrets) to an NPC it
    likes, and that likes it, when the two meet (named as each other's witnesses)."""
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

    @field_validator("speech")
    @classmethod
    def _catchphrase_topics(cls, v: Speech, info: ValidationInfo) -> Speech:
        known = {*info.data.get("topics", {}), *info.data.get("opinions", {})}
        for i, phrase in enumerate(v.catchphrases):
            if isinstance(phrase, Catchphrase):
                for key in phrase.topics:
                    if key not in known:
                        raise ValueError(
                            f"catchphrases[{i}]: topic {key!r} is none of this persona's "
                            f"[topics.*] or [opinions] keys ({', '.join(sorted(known)) or 'none'})"
                        )
        return v

    @field_validator("phrases")
    @classmethod
    def _phrases_known(
        cls, v: dict[str, list[str] | dict[str, list[str]]]
    ) -> dict[str, list[str] | dict[str, list[str]]]:
        for name, value in v.items():
            table = PHRASE_TABLES.get(name)
            if table is None or not table.extensible:
                known = ", ".join(k for k, t in PHRASE_TABLES.items() if t.extensible)
                raise ValueError(f"no phrase table {name!r} to extend; tables: {known}")
            if table.keys and not isinstance(value, dict):
                raise ValueError(f"{name}: a table of {', '.join(table.keys)} ({name}.{table.keys[0]} = [...])")
            if not table.keys and isinstance(value, dict):
                raise ValueError(f"{name}: a list of lines ({name} = [...])")
            groups = value.items() if isinstance(value, dict) else [("", value)]
            for key, lines in groups:
                where = f"{name}.{key}" if key else name
                if key and key not in table.keys:
                    raise ValueError(f"{where}: unknown key; {name} has {', '.join(table.keys)}")
                for i, text in enumerate(lines):
                    if (why := phrase_problem(table, text)) is not None:
                        raise ValueError(f"{where}[{i}]: {why}")
        return v

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the persona answers to, name first."""
        return (self.name, *self.aliases)


def _describe_fields(base: type[BaseModel]) -> None:
    """Each field's attribute docstring (the string right below it) as its description, in
    every model of this module built on `base`.

    pydantic's `use_attribute_docstrings` does the same, but on Python < 3.13 it finds each
    class's source by walking the call stack and tokenizing the class: about 25 ms of CPU at
    every start (before the ready line). Here this module's source is parsed once. The models
    defer their build (`defer_build`), so the descriptions are in place before any validator
    or JSON Schema is made. Without the source (a frozen build), fields go undescribed, as
    they would with pydantic's.
    """
    try:
        tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return
    found, wanted = [base], {}
    while found:
        for sub in found.pop().__subclasses__():
            if sub.__module__ == __name__:
                wanted[sub.__name__] = sub
                found.append(sub)
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or node.name not in wanted:
            continue
        model = wanted[node.name]
        for field, doc in zip(node.body, node.body[1:], strict=False):
            if (
                isinstance(field, ast.AnnAssign)
                and isinstance(field.target, ast.Name)
                and isinstance(doc, ast.Expr)
                and isinstance(doc.value, ast.Constant)
                and isinstance(doc.value.value, str)
            ):
                info = model.model_fields.get(field.target.id)
                if info is not None and info.description is None:
                    info.description = inspect.cleandoc(doc.value.value)


_describe_fields(_Strict)

PROMPT_PLACEHOLDERS = frozenset(
    {"name", "role", "bio", "style", "player", "affinity", "facts", "quirks", "relationship"}
)

__all__ = [
    "LINE_PLACEHOLDERS",
    "PERSONA_ID",
    "PHRASE_LINES_MAX",
    "PHRASE_TABLES",
    "PRESETS",
    "PROMPT_PLACEHOLDERS",
    "RELATIONSHIP_KINDS",
    "CustomPreset",
    "Goal",
    "Persona",
    "Personality",
    "PhraseTable",
    "REQUEST_PLACEHOLDERS",
    "Relationship",
    "Request",
    "Catchphrase",
    "UNION_TAGS",
    "Speech",
    "Topic",
    "Traits",
    "phrase_problem",
    "render_line",
    "uses_item",
]
