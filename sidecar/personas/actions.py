"""What an NPC may do besides speaking: `[actions.NAME]` in a persona file, or the same keys
registered at run time by the game (`actions.register`).

The same models validate both sources, so a persona file's problem is reported with its
file and line (the loader maps each error's path to the key), and the game's gets
`bad_request` naming the field. The arguments are a small JSON Schema subset on purpose:
an object of string / integer / number / boolean / enum properties with `required`,
`minimum` / `maximum` and `maxLength`. Anything else (`items`, `pattern`, `$ref`, nested
objects, `additionalProperties`…) is refused, because every provider's tool format and the
llama.cpp grammar must express it, and because the game's handler should get flat values.

`check_args` is the one validator of proposed arguments: strict (no coercion: "5" is not
5, 5.0 is not an integer, `true` is not a number), no unknown arguments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic import create_model as _create_model

ACTION_NAME = r"^[a-z][a-z0-9_]{0,39}$"
"""Action and argument names: what every provider accepts as a tool / parameter name."""
MAX_ACTIONS = 32
"""Per persona (file and run time together are checked apart: 32 each)."""
MAX_PROPERTIES = 16
INTENTS = frozenset(
    {
        "goodbye", "asks_name", "asks_likes", "asks_npc_name", "asks_self", "asks_opinion", "greeting",
        "thanks", "how", "sorry", "question", "affection", "addressed", "requests", "flirts", "asks_only",
        "asks_joke", "more", "laughs", "unamused", "asks_price", "agrees", "asks_work",
        "applauds", "declines",
    }
)  # fmt: skip
"""What `[actions.NAME.embedded] intents` may name: the flags of the player's line as the
engine reads it (sidecar/engine/reading.py `Reading.intents`; a test keeps the two equal)."""

Scalar = StrictStr | StrictBool | StrictInt | StrictFloat
ArgName = Annotated[str, Field(pattern=ACTION_NAME)]
Word = Annotated[str, Field(min_length=1, max_length=40)]
SaidLine = Annotated[str, Field(min_length=1, max_length=160)]
AskLine = Annotated[str, Field(min_length=1, max_length=80)]
"""One sentence the NPC says about an action's result; `{arg}` is that argument's value."""
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
"""A word of the player's line, as an embedded rule reads it (sidecar/engine/actions.py)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True)


class ArgProperty(_Strict):
    """One argument: a string, integer, number or boolean, or one of an `enum`'s values."""

    type: Literal["string", "integer", "number", "boolean"] | None = None
    """Left out only with `enum` (then any of its values)."""
    description: Annotated[str, Field(max_length=300)] = ""
    enum: list[Scalar] | None = Field(default=None, min_length=1, max_length=50)
    minimum: StrictInt | StrictFloat | None = None
    """Integers and numbers only."""
    maximum: StrictInt | StrictFloat | None = None
    """Integers and numbers only."""
    maxLength: int | None = Field(default=None, ge=1, le=2000)  # noqa: N815 - JSON Schema's own key
    """Strings only."""

    @model_validator(mode="after")
    def _consistent(self) -> ArgProperty:
        if self.type is None and self.enum is None:
            raise ValueError("an argument needs a `type` (string, integer, number, boolean) or an `enum`")
        numeric = self.type in ("integer", "number")
        if (self.minimum is not None or self.maximum is not None) and not numeric:
            raise ValueError("`minimum` / `maximum` apply to integer and number arguments only")
        if self.maxLength is not None and self.type != "string":
            raise ValueError("`maxLength` applies to string arguments only")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("`minimum` is above `maximum`")
        if self.enum is not None and self.type is not None:
            wrong = [v for v in self.enum if not _is_type(v, self.type)]
            if wrong:
                raise ValueError(f"enum value {wrong[0]!r} is not of type {self.type}")
        return self

    def python_type(self) -> Any:
        """The strict pydantic type that checks a proposed value of this argument."""
        if self.enum is not None:
            return Literal[tuple(self.enum)]
        if self.type == "string":
            return Annotated[StrictStr, Field(max_length=self.maxLength)]
        if self.type == "boolean":
            return StrictBool
        bounds = Field(ge=self.minimum, le=self.maximum)
        if self.type == "integer":
            return Annotated[StrictInt, bounds]
        return Annotated[StrictInt | StrictFloat, bounds]


def _is_type(value: object, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if kind == "integer" else isinstance(value, int | float)


class ArgumentsSchema(_Strict):
    """The action's arguments: `type = "object"`, `properties`, `required`."""

    type: Literal["object"] = "object"
    properties: dict[ArgName, ArgProperty] = Field(default_factory=dict, max_length=MAX_PROPERTIES)
    required: list[ArgName] = Field(default_factory=list, max_length=MAX_PROPERTIES)

    @field_validator("required")
    @classmethod
    def _required_known(cls, v: list[str], info: ValidationInfo) -> list[str]:
        # A field validator (not a model one) so the problem is reported at `required`'s line.
        unknown = [name for name in v if name not in info.data.get("properties", {})]
        if unknown:
            raise ValueError(f"required argument {unknown[0]!r} is not in `properties`")
        return v

    def as_json_schema(self) -> dict[str, Any]:
        """The schema as a provider's tool definition wants it (the subset, verbatim)."""
        props: dict[str, Any] = {}
        for name, prop in self.properties.items():
            props[name] = prop.model_dump(exclude_none=True, exclude_defaults=True)
            if prop.description:
                props[name]["description"] = prop.description
        return {"type": "object", "properties": props, "required": list(self.required)}


class Conditions(_Strict):
    """When the NPC may do it (all optional; every one given must hold)."""

    affinity_min: int | None = Field(default=None, ge=0, le=100)
    """The NPC's affinity with the player must be at least this (0–100)."""
    goal_completed: Annotated[str, Field(pattern=ACTION_NAME)] | None = None
    """This conversation's goal with this id must be completed (before this turn)."""
    world: dict[Annotated[str, Field(min_length=1, max_length=64)], Scalar] = Field(default_factory=dict, max_length=16)
    """World facts (set by the game with `world.set`) that must have exactly these values."""


class Limits(_Strict):
    """How often (all optional)."""

    once_per_conversation: bool = False
    cooldown_turns: int = Field(default=0, ge=0, le=1000)
    """Player turns that must pass after this action before it may be decided again."""
    cooldown_s: float = Field(default=0.0, ge=0.0, le=86_400.0)
    """Seconds that must pass after this action before it may be decided again."""


class EmbeddedRule(_Strict):
    """How the embedded (offline) engine decides it: words or intents of the player's line,
    then the conditions; `args` are fixed, `take` fills an argument from the line."""

    keywords: list[Word] = Field(default_factory=list, max_length=40)
    """Any of these words in the player's line (whole words, any case)."""
    intents: list[str] = Field(default_factory=list, max_length=len(INTENTS))
    """Any of these readings of the player's line (`requests`, `thanks`, `sorry`…)."""
    args: dict[ArgName, Scalar] = Field(default_factory=dict, max_length=MAX_PROPERTIES)
    """Fixed arguments (`price = 5`)."""
    take: dict[ArgName, list[Word]] = Field(default_factory=dict, max_length=MAX_PROPERTIES)
    """Argument → words that may fill it from the player's line (`item = ["sword", "axe"]`:
    "fix my sword" gives `item = "sword"`). The rule fires only when each one is found."""
    count: dict[ArgName, list[Word]] = Field(default_factory=dict, max_length=MAX_PROPERTIES)
    """Argument → unit words; the number the player says before one fills it ("two nights",
    "3 nights", "a couple of nights": `nights = ["night", "nights"]`). The argument must be
    in `args` too: that is its value when the line names no number."""
    per: dict[ArgName, ArgName] = Field(default_factory=dict, max_length=MAX_PROPERTIES)
    """A fixed number in `args` that is per counted unit: `per = { price = "nights" }` with
    `price = 5` decides `price = 10` for two nights."""
    done: list[SaidLine] = Field(default_factory=list, max_length=8)
    """What the NPC says first after the game carried the action out ("There. Your {item}'s
    mended."); `{arg}` is the decided argument. Without any, a general line is said."""
    failed: list[SaidLine] = Field(default_factory=list, max_length=8)
    """... after the game reports it did not happen ("Shame. I'd have had that {item} right.")."""
    ask: list[AskLine] = Field(default_factory=list, max_length=8)
    """Answer options the player may pick to ask for it ("Please, will you open the gate?"),
    offered while the action may still be decided in this conversation (not while a limit
    holds it back); each must fire this rule. Without any, the options never ask for it."""
    quote: list[SaidLine] = Field(default_factory=list, max_length=8)
    """What the NPC says when the player asks the price ("How much for a room?",
    "What would it cost to mend my sword?"): `{arg}` is the argument it would decide ("That's
    {price} coppers. Shall I fetch the key?"). Such a question then decides nothing; a yes
    right after the quote ("Yes, I'll take it.") decides the action with the quoted arguments.
    A price question fires the rule by its keywords, or, when none fires so, by the words of
    its `take` ("How much is a horseshoe?"). Without any, a price question decides the action
    as a request does."""
    offer: list[SaidLine] = Field(default_factory=list, max_length=8)
    """What the NPC says when the rule fires, proposing the action instead of deciding it
    ("Rats in my cellar, petal. Clear them out and it's {reward} coppers. Will you?"):
    `{arg}` as it would be decided. A yes right after ("Yes.", "Deal!") decides the action
    with the offered arguments; anything else decides nothing. For an errand the NPC gives,
    fired by the `asks_work` intent ("Do you have any work for me?"). A price question to a
    rule with a `quote` gets the quote."""
    agree: list[SaidLine] = Field(default_factory=list, max_length=8)
    """What the NPC says deciding it on a yes to its `quote` or `offer` ("One {item}, then. I'll fetch
    it."), `{arg}` as decided. Without any, a general "Right. I'll see to it."."""
    again: list[SaidLine] = Field(default_factory=list, max_length=8)
    """... when the rule fires but a limit holds the action back: done already in this
    conversation, or cooling down ("You've got the blue room already, petal!"). Without any,
    a general "not now" line."""
    not_yet: list[SaidLine] = Field(default_factory=list, max_length=8)
    """... when the rule fires but a condition (affinity, goal, world fact) refuses the action
    for now ("The gate? Convince me first."). Without any, a general "not now" line; a limit
    (once per conversation, a cooldown) gets the rule's `again` lines, else the general one."""

    @model_validator(mode="after")
    def _triggers(self) -> EmbeddedRule:
        if not self.keywords and not self.intents:
            raise ValueError("an embedded rule needs `keywords` or `intents`")
        unknown = [i for i in self.intents if i not in INTENTS]
        if unknown:
            raise ValueError(f"unknown intent {unknown[0]!r}; known: {', '.join(sorted(INTENTS))}")
        both = set(self.args) & set(self.take)
        if both:
            raise ValueError(f"argument {sorted(both)[0]!r} is both fixed (`args`) and taken from the line (`take`)")
        for arg in self.count:
            if not isinstance(self.args.get(arg), int) or isinstance(self.args.get(arg), bool):
                raise ValueError(f"counted argument {arg!r} needs its default number in `args` ({arg} = 1)")
        for arg, unit in self.per.items():
            if unit not in self.count:
                raise ValueError(f"per.{arg}: {unit!r} is not a counted argument (`count`)")
            if not isinstance(self.args.get(arg), int | float) or isinstance(self.args.get(arg), bool):
                raise ValueError(f"per.{arg}: {arg!r} needs its number per {unit} in `args`")
        return self

    @model_validator(mode="after")
    def _asks_fire(self) -> EmbeddedRule:
        for line in self.ask:
            said = {w.lower() for w in WORD.findall(line)}
            if self.keywords and not self.words & said:
                raise ValueError(f"ask line {line!r} holds none of the rule's `keywords`: picking it would not fire it")
            for arg, choices in self.take.items():
                if not {c.lower() for c in choices} & said:
                    raise ValueError(f"ask line {line!r} names none of the words `take.{arg}` needs")
        return self

    @property
    def words(self) -> frozenset[str]:
        return frozenset(w.lower() for w in self.keywords)


class ActionDef(_Strict):
    """Something the NPC may do: its description (what the model reads), arguments,
    conditions, limits, and the embedded engine's rule."""

    description: Annotated[str, Field(min_length=1, max_length=300)]
    """What the action does, for the model deciding it ("Mend the player's item for a price.")."""
    arguments: ArgumentsSchema = Field(default_factory=ArgumentsSchema)
    conditions: Conditions = Field(default_factory=Conditions)
    limits: Limits = Field(default_factory=Limits)
    embedded: EmbeddedRule | None = None
    """How the offline engine decides it; without one, only LLM providers decide it."""

    @model_validator(mode="after")
    def _rule_args_known(self) -> ActionDef:
        if self.embedded is not None:
            for name in [*self.embedded.args, *self.embedded.take]:
                if name not in self.arguments.properties:
                    raise ValueError(f"embedded rule names argument {name!r}, which is not in `arguments.properties`")
            rule = self.embedded
            for line in [*rule.done, *rule.failed, *rule.not_yet, *rule.again, *rule.quote, *rule.offer, *rule.agree]:
                for name in _PLACEHOLDER.findall(line):
                    if name not in self.arguments.properties:
                        raise ValueError(
                            f"embedded line {line!r} names {{{name}}}, which is not in `arguments.properties`"
                        )
        return self

    def said(self, ok: bool, args: Mapping[str, Any]) -> tuple[str, ...]:
        """The rule's own lines about a result, `{arg}`s filled from `args`."""
        if self.embedded is None:
            return ()
        return _filled(self.embedded.done if ok else self.embedded.failed, args)

    def quotes(self, args: Mapping[str, Any]) -> tuple[str, ...]:
        """The rule's own lines naming the price of what the player asked about, filled."""
        return _filled(self.embedded.quote, args) if self.embedded is not None else ()

    def offers(self, args: Mapping[str, Any]) -> tuple[str, ...]:
        """The rule's own lines proposing the action (a yes to one decides it), filled."""
        return _filled(self.embedded.offer, args) if self.embedded is not None else ()

    def proposing(self, args: Mapping[str, Any], *, price: bool) -> tuple[str, ...]:
        """What the NPC says instead of deciding the action now: its quote for a price
        question (its offer when it has no quote), else its offer; empty when it decides."""
        quoted = self.quotes(args) if price else ()
        return quoted or self.offers(args)

    def agrees(self, args: Mapping[str, Any]) -> tuple[str, ...]:
        """The rule's own lines for deciding it on a yes to its quote, filled."""
        return _filled(self.embedded.agree, args) if self.embedded is not None else ()

    def not_yet(self, args: Mapping[str, Any], *, limited: bool = False) -> tuple[str, ...]:
        """The rule's own lines for a request its conditions refuse now (`limited`: a limit
        holds it back, its `again` lines), filled from `args`."""
        if self.embedded is None:
            return ()
        return _filled(self.embedded.again if limited else self.embedded.not_yet, args)


def _filled(lines: Sequence[str], args: Mapping[str, Any]) -> tuple[str, ...]:
    """`lines` with their `{arg}`s filled from `args`; a line naming an argument the decision
    left out (an optional one) is not said."""
    out: list[str] = []
    for line in lines:
        if all(n in args for n in _PLACEHOLDER.findall(line)):
            out.append(_PLACEHOLDER.sub(lambda m: str(args[m.group(1)]), line))
    return tuple(out)


_CHECKERS: dict[int, tuple[ArgumentsSchema, type[BaseModel]]] = {}
"""id(schema) → (schema, its strict model). The schema is kept with its model so its id is
never reused while cached; there is one per declared action (file or run-time)."""


def _checker(schema: ArgumentsSchema) -> type[BaseModel]:
    hit = _CHECKERS.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    fields: dict[str, Any] = {}
    for name, prop in schema.properties.items():
        # An optional argument may be left out, not sent as null: its default is not validated.
        fields[name] = (prop.python_type(), ... if name in schema.required else None)
    model: type[BaseModel] = _create_model("ActionArgs", __config__=ConfigDict(extra="forbid", strict=True), **fields)
    _CHECKERS[id(schema)] = (schema, model)
    return model


def check_args(schema: ArgumentsSchema, args: Mapping[str, Any]) -> list[str]:
    """Every problem of `args` against `schema` as `"name: problem"` (empty: valid)."""
    try:
        _checker(schema).model_validate(dict(args))
    except ValidationError as exc:
        return [
            f"{'.'.join(str(p) for p in e['loc']) or '(args)'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        ]
    return []


__all__ = [
    "ACTION_NAME",
    "INTENTS",
    "MAX_ACTIONS",
    "ActionDef",
    "ArgProperty",
    "ArgumentsSchema",
    "Conditions",
    "EmbeddedRule",
    "Limits",
    "check_args",
]
