"""`RoutedSource`: the turn pipeline's lines, answer options and goal verdicts from the LLM
router (sidecar/llm), with the embedded engine as the last link of every chain.

Per attempt of the quality gate:
- the request is built from the persona's system prompt, the turn's tuning (style text,
  temperature, frequency penalty, max tokens), the relationship, the conversation's rolling
  summary and the recent lines after it (`TurnInput.summary`), under the chain's context
  budget (`budget`), the goal hint (present only when the persona allows the NPC to know the player's goal) and who else
  is present;
- a retry (attempt > 0) asks again a little warmer (+0.15 temperature per retry) with a note
  that the previous answer was rejected, so the provider does not repeat it; when the chain
  falls to the embedded engine, a retry composes a different embedded line (another seed),
  exactly as `EmbeddedSource` does;
- the provider's text is cleaned as it streams (`StreamCleaner`: no "Name:" labels, nothing
  said for the player or another NPC); `provider.fallback` and `line.reset` go to the game
  through `emit`.

Answer options come with the line where the first ready provider's `options_in_line` says
so (sidecar/engine/inline_options.py: one call per turn); a line without usable ones, a
reroll, or a provider without that flag gets the separate options call. A memorable turn's
long-term memories ride in the same block (`memory_in_line`); without a usable memory line
`extract` makes the separate extraction call.

Answer options and the goal judge are asked of the provider only when the line the pipeline
kept came from one (an NPC whose providers are down answers entirely from the embedded
engine, without waiting on the chain again). They never fail a turn: any failure gives the
embedded options, or no verdict (the pipeline's heuristics decide).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace

from sidecar.engine import goals as goal_rules
from sidecar.engine import inline_options, witness
from sidecar.engine import options as option_rules
from sidecar.engine import remember as memory_rules
from sidecar.engine.actions import Proposal
from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.reading import read
from sidecar.engine.scene import attribution
from sidecar.engine.scene import cue as scene_cue
from sidecar.engine.source import EMBEDDED, DeltaSink, Emit, Generated, TurnInput, chunks, compose
from sidecar.engine.tokens import ContextBudget
from sidecar.engine.types import Composed, Line, Option
from sidecar.engine.world import world_hint
from sidecar.llm import ChatMessage, ChatReply, ChatRequest, RequestTags, Router, StreamCleaner, build_request
from sidecar.llm.budget import chain_budget, tools_tokens
from sidecar.llm.embedded import embedded_reply
from sidecar.llm.router import TextFilter
from sidecar.llm.tools import ToolDef
from sidecar.personas.actions import ActionDef
from sidecar.store.memory import NewMemory

log = logging.getLogger(__name__)

RETRY_WARMER = 0.15
"""Temperature added per quality-gate retry (capped at `MAX_TEMPERATURE`)."""
MAX_TEMPERATURE = 1.5
STRUCTURED_MODES = frozenset({"json_schema", "json_object_schema", "json_object"})
"""Provider `json` modes with native structured output; the others get a strict text format."""
OPTIONS_MAX_TOKENS = 160
OPTIONS_BLOCK = "options_block"
"""`Generated.meta` key: the answer options that came with the line (raw block text)."""
JUDGE_MAX_TOKENS = 120
EXTRACT_MAX_TOKENS = 400


def act_note(name: str) -> str:
    return (
        f"Besides speaking, {name} may act with the tools you are given, when what is said calls "
        "for it. Always say your line too."
    )


def dropped_note(problems: Sequence[str]) -> str:
    return (
        "Your previous answer proposed actions that cannot be done ("
        + "; ".join(problems)
        + "). Use only the tools you are given, with arguments that fit their schema, or none."
    )


def retry_note(name: str) -> str:
    return (
        f"Your previous answer was rejected. Answer again as {name}, in character, in your own "
        "words: something different from before, spoken only by you."
    )



_TOOLS: dict[tuple[str, int], tuple[ActionDef, ToolDef]] = {}
"""(name, id(action)) → (the action, its tool): an action's tool is made once, not per turn.
The action is kept with it so its id is never reused while cached; declared actions are few
(files and `actions.register`), and the table is cleared when it grows past a bound."""
_TOOLS_MAX = 1024


def tool_for(name: str, action: ActionDef) -> ToolDef:
    """The tool a provider is offered for `action` (its schema rendered once)."""
    hit = _TOOLS.get((name, id(action)))
    if hit is not None and hit[0] is action:
        return hit[1]
    if len(_TOOLS) >= _TOOLS_MAX:
        _TOOLS.clear()
    tool = ToolDef(name, action.description, action.arguments.as_json_schema())
    _TOOLS[(name, id(action))] = (action, tool)
    return tool

class RoutedSource:
    """`LineSource` (sidecar/engine/source.py) over a `Router`.

    The router is shared by every conversation; this object holds no per-conversation state
    beyond the providers of the current turn's lines (dropped with the turn)."""

    def __init__(self, router: Router, engine: EmbeddedEngine) -> None:
        self.router = router
        self.engine = engine

    # --- lines -----------------------------------------------------------------------------

    def options_in_line(self) -> bool:
        """Whether the line request also asks for the answer options (the first ready
        provider's flag: the request is built before the router picks who answers)."""
        spec = self.router.first_ready()
        return spec is not None and spec.options_in_line

    def memory_in_line(self, turn: TurnInput) -> bool:
        """Whether the line request also asks for the turn's long-term memories: the first
        ready provider takes the options in the line and allows it, and the player's line
        gives the rules something to remember (else no memory call is made at all)."""
        spec = self.router.first_ready()
        return (
            spec is not None
            and spec.options_in_line
            and spec.memory_in_line
            and memory_rules.worth_asking_before(read(turn.player_text), turn.player_text, turn.tone)
        )

    def budget(self) -> ContextBudget:
        """The chain's context budget (`llm.budget.chain_budget`): the line requests and the
        context step (pipeline/context.py) plan with the same numbers."""
        return chain_budget(self.router.settings.chain)

    def request(
        self, turn: TurnInput, attempt: int = 0, *, with_options: bool = False, with_memories: bool = False
    ) -> ChatRequest:
        """The provider request for one attempt of this turn (public for tests)."""
        ctx = turn.ctx
        persona = ctx.persona
        hints: list[str] = []
        if turn.goal_hint:
            hints.append(turn.goal_hint)
        hints.extend(outcome.hint() for outcome in turn.action_results)
        if turn.actions:
            hints.append(act_note(persona.name))
        if attempt and turn.action_problems:
            hints.append(dropped_note(turn.action_problems))
        if world := world_hint(turn.world):
            hints.append(world)
        if turn.scene is not None:
            hints.append(scene_cue.instruction(turn.scene, persona))
        if attempt:
            hints.append(retry_note(persona.name))
        if with_options:
            hints.append(inline_options.instruction(persona.name, memories=with_memories))
        offered = tuple(tool_for(name, a) for name, a in turn.actions.items())
        budget = self.budget()
        block_tokens = inline_options.EXTRA_TOKENS + (inline_options.MEMORY_TOKENS if with_memories else 0)
        if with_options:
            budget = budget.less(block_tokens)
        if offered:
            budget = budget.less(tools_tokens(offered, budget.counter))
        view = turn.summary
        req = build_request(
            persona,
            player=ctx.player,
            player_name=ctx.player_name,
            affinity=ctx.affinity,
            tuning=turn.tuning,
            history=view.recent if view is not None else ctx.history,
            summary=view.text if view is not None else None,
            others=turn.scene.present if turn.scene is not None else ctx.others,
            conversation=turn.conversation,
            player_line=turn.player_text,
            memories=[witness.attributed(r.memory.text, r.memory.told_by, ctx.neighbours) for r in turn.memories],
            hints=hints,
            budget=budget,
        )
        if attempt:
            warmer = min(MAX_TEMPERATURE, req.temperature + RETRY_WARMER * attempt)
            req = replace(req, temperature=round(max(req.temperature, warmer), 3))
        if with_options:
            req = replace(req, max_tokens=req.max_tokens + block_tokens)
        if offered:
            req = replace(req, tools=offered)
        return req

    async def generate(self, turn: TurnInput, attempt: int, *, on_delta: DeltaSink | None, emit: Emit) -> Generated:
        """One line through the chain. Raises only `CancelledError` (the turn was cancelled) or
        `ProviderUnavailable` (the embedded engine itself failed)."""
        persona = turn.ctx.persona
        composed: list[Composed] = []

        async def fallback(req: ChatRequest) -> ChatReply:
            # Called by the router only when every provider failed: the embedded line is
            # composed here and nowhere else, so a provider's turn never composes one.
            made = compose(self.engine, turn, attempt)
            composed.append(made)
            return embedded_reply(made.text)

        with_options = self.options_in_line()
        with_memories = with_options and self.memory_in_line(turn)
        splits: list[inline_options.Split] = []

        heard: list[attribution.Recorder] = []

        def cleaner() -> TextFilter:
            inner: TextFilter = StreamCleaner(persona.names, turn.ctx.player_name or turn.ctx.player, turn.other_names)
            if turn.scene is not None:
                # What the cleaner cuts in a scene is a line for someone else: kept to say who.
                heard.append(attribution.Recorder(inner))
                inner = heard[-1]
            if not with_options:
                return inner
            splits.append(inline_options.Split(inner))
            return splits[-1]

        req = self.request(turn, attempt, with_options=with_options, with_memories=with_memories)
        if on_delta is not None:
            routed = await self.router.stream(req, embedded=fallback, on_delta=on_delta, on_event=emit, cleaner=cleaner)
        else:
            routed = await self.router.complete(req, embedded=fallback, on_event=emit, cleaner=cleaner)
        text = routed.reply.text
        calls = () if routed.embedded else routed.reply.tool_calls
        if not text.strip():
            # The model acted without a word (tool calls only): the embedded engine says the line.
            made = compose(self.engine, turn, attempt)
            composed.append(made)
            text = made.text
            if on_delta is not None:
                for chunk in chunks(text):
                    await on_delta(chunk)
        # The last filter made is the answering provider's; a reply cut by max_tokens may end
        # inside the block, so its options are not trusted.
        block = splits[-1].block if splits and not routed.embedded and routed.reply.finish_reason != "length" else None
        voiced: dict[str, object] = {}
        if heard and turn.scene is not None and not routed.embedded:
            split = attribution.split_foreign(heard[-1].raw, persona.names, turn.scene.others())
            if split.foreign:
                voiced[attribution.VOICED] = [list(pair) for pair in split.foreign]
        # A provider's line has no composition of its own (None unless the caller made one).
        made_line = composed[-1] if composed and composed[-1].text == text else turn.composed
        return Generated(
            text=text,
            provider=routed.provider,
            composed=made_line,
            # The provider's face for its line (the block's emotion line), else the composition's.
            emotion=(inline_options.emotion(block) if block else None)
            or (made_line.emotion if made_line is not None and made_line.text == text else None),
            meta={
                "kind": routed.provider_kind,
                "usd": routed.usd,
                "fallbacks": [f.to_event() for f in routed.fallbacks],
                "attempts": [(a.provider, a.outcome, a.tries) for a in routed.attempts],
                OPTIONS_BLOCK: block,
                **voiced,
            },
            proposals=tuple(Proposal(c.name, c.arguments, c.id) for c in calls),
        )

    @staticmethod
    def _remote(line: Generated) -> bool:
        """Whether a remote provider (not the embedded engine) produced `line`."""
        return line.from_provider

    # --- answer options --------------------------------------------------------------------

    def options_request(self, turn: TurnInput, npc_line: str, *, structured: bool) -> ChatRequest:
        persona = turn.ctx.persona
        system = (
            f"You help write a role-playing game's dialogue. The player, {turn.ctx.player}, is talking "
            f"with {persona.name} ({persona.role}). You write what the player could say next, never "
            f"{persona.name}'s lines."
        )
        return ChatRequest(
            system=system,
            messages=(ChatMessage("user", option_rules.options_prompt(npc_line, persona.name, structured=structured)),),
            temperature=0.7,
            max_tokens=OPTIONS_MAX_TOKENS,
            json_schema=option_rules.OPTIONS_SCHEMA if structured else None,
            tags=RequestTags(conversation=turn.conversation, persona=persona.id, purpose="options"),
        )

    async def options(self, turn: TurnInput, line: Generated, fallback: Sequence[Option]) -> list[Option]:
        """Candidates for the player's answer options (turn.py settles them with
        `options.finalize`). Structured output (JSON schema, or JSON object mode) where the
        first ready provider has it, else the strict `ask:/share:/leave:` text format.
        Never raises except `CancelledError`: any failure, and any answer with no usable
        option, gives `fallback` (the embedded engine's options)."""
        if not self._remote(line):
            return list(fallback)
        block = line.meta.get(OPTIONS_BLOCK)
        if isinstance(block, str) and (inline := inline_options.options(block)):
            return inline
        spec = self.router.first_ready()
        if spec is None:
            return list(fallback)
        structured = spec.json in STRUCTURED_MODES
        text = await self.ask(self.options_request(turn, line.text, structured=structured), "options")
        if text is None:
            return list(fallback)
        found = option_rules.parse(text)
        if not found:
            log.info("answer options unusable; the embedded engine's are used", extra={"provider": spec.name})
            return list(fallback)
        return found

    # --- goal judge ------------------------------------------------------------------------

    async def judge(
        self, turn: TurnInput, line: Generated, goal: goal_rules.GoalDef, lines: Sequence[Line]
    ) -> goal_rules.GoalCheck | None:
        """The provider's verdict on the player's goal over `lines` (oldest first, this turn
        included), unsettled (pass it to `goals.settle`); None when no provider answered
        usably, so the caller's heuristics decide. Never raises except `CancelledError`."""
        if not self._remote(line):
            return None
        spec = self.router.first_ready()
        if spec is None:
            return None
        system, user, schema = goal_rules.judge_prompt(goal, lines)
        req = ChatRequest(
            system=system,
            messages=(ChatMessage("user", user),),
            temperature=0.0,
            max_tokens=JUDGE_MAX_TOKENS,
            json_schema=schema if spec.json in STRUCTURED_MODES else None,
            tags=RequestTags(conversation=turn.conversation, persona=turn.ctx.persona.id, purpose="goal"),
        )
        text = await self.ask(req, "goal")
        return goal_rules.parse_judge(text) if text is not None else None

    # --- long-term memory ------------------------------------------------------------------

    def extract_request(self, turn: TurnInput, npc_line: str, *, structured: bool) -> ChatRequest:
        persona = turn.ctx.persona
        system, user = memory_rules.extraction_prompt(persona.name, turn.player_text, npc_line)
        return ChatRequest(
            system=system,
            messages=(ChatMessage("user", user),),
            temperature=0.0,
            max_tokens=EXTRACT_MAX_TOKENS,
            json_schema=memory_rules.EXTRACTION_SCHEMA if structured else None,
            tags=RequestTags(conversation=turn.conversation, persona=persona.id, purpose="memory"),
        )

    async def extract(self, turn: TurnInput, line: Generated) -> list[NewMemory] | None:
        """The turn's memories as the provider reads them (JSON schema where the first ready
        provider has structured output, else the same shape asked in words); None when the
        line is not a provider's, no provider answered, or the answer is not that shape: the
        pipeline's heuristics decide. Never raises except `CancelledError`."""
        if not self._remote(line):
            return None
        block = line.meta.get(OPTIONS_BLOCK)
        if isinstance(block, str) and (inline := inline_options.memories(block)) is not None:
            return inline
        spec = self.router.first_ready()
        if spec is None:
            return None
        structured = spec.json in STRUCTURED_MODES
        text = await self.ask(self.extract_request(turn, line.text, structured=structured), "memory")
        if text is None:
            return None
        found = memory_rules.parse_extraction(text)
        if found is None:
            log.info("memory extraction unusable; the heuristics are used", extra={"provider": spec.name})
        return found

    # --- shared ----------------------------------------------------------------------------

    async def ask(self, req: ChatRequest, purpose: str) -> str | None:
        """One side request through the chain, without events to the game (they concern the
        line). None when only the embedded engine could answer, or on any failure."""

        async def nothing(_: ChatRequest) -> ChatReply:
            return embedded_reply("")

        try:
            routed = await self.router.complete(req, embedded=nothing)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - options and verdicts must never fail a turn
            log.warning("side request failed; the embedded fallback is used", extra={"purpose": purpose}, exc_info=True)
            return None
        if routed.embedded:
            return None
        return routed.reply.text


__all__ = ["EMBEDDED", "OPTIONS_BLOCK", "RETRY_WARMER", "STRUCTURED_MODES", "RoutedSource", "retry_note"]
