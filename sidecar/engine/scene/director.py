"""The scene director: one player line to a scene, several NPC lines back (issue 14).

For each player line the turn-taker (turns.py) decides who speaks, one turn at a time; the
director generates each NPC's line through the same steps a conversation turn runs (read →
recall → context → generate with the quality gate → settle; remember once, for the player's
line), for that speaker, over the lines that speaker heard. Each line is committed in its own
transaction as soon as the gate keeps it (the player's line goes with the first), then sent as
a `scene.line` event, so every line the game was shown is stored and a line in the making is
never stored. Streaming `line.delta` / `line.reset` events carry the speaker.

The exchange stops when the turn-taker has nobody left, at the scene's `max_lines` (the
turn-taker's cap), when its token budget (`max_tokens`, estimated) is spent, or when the
request's cancel token is set: a newer `scene.say` for the same scene sets it (the server
does), generation stops at once, and the lines already stored are the exchange.

Witnesses: every line is heard by the NPCs present as it is said (`message_witnesses`, the
speaker included); what the player's line tells the first speaker is also remembered by every
other present NPC (engine/witness.py `overheard`), so an NPC that joined later or left earlier
neither heard the lines nor remembers them.

Gossip: NPCs together in a scene meet as it starts (every pair of the cast, after the
greetings) and as one joins (the joiner and each NPC present): where engine/gossip.py's rule
allows it, a teller passes on memories made before that moment, never a secret, marked
`told_by` (pipeline/overhear.py `Overhear.meet`, the same step a turn's witnesses meet in).

Randomness (the turn-taker's banter, the embedded engine's seeds) comes from the scene's seed
and the exchange's number: a scene replays identically.
"""

from __future__ import annotations

import itertools
import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sidecar.engine import emotion as feelings
from sidecar.engine.cancel import CANCEL
from sidecar.engine.compose.scene import JOKE_HEARD
from sidecar.engine.emotion import Feeling
from sidecar.engine.personality import tune
from sidecar.engine.pipeline.draft import Draft
from sidecar.engine.pipeline.load import HISTORY_WINDOW
from sidecar.engine.pipeline.persist import embedded_message, npc_message, offered, player_message
from sidecar.engine.pipeline.read import other_names, read_line
from sidecar.engine.scene import attribution, turns
from sidecar.engine.scene.bonds import StoredBonds
from sidecar.engine.scene.cue import Answering, SceneCue, make_cue
from sidecar.engine.sentiment import analyze
from sidecar.engine.source import Emit, chunks
from sidecar.engine.state import ConversationState
from sidecar.engine.text import estimate_tokens
from sidecar.engine.turn import Affinity, Dialogue
from sidecar.engine.types import PLAYER, Composed, Option, TurnContext
from sidecar.engine.witness import overheard
from sidecar.engine.world import persona_in
from sidecar.errors import BadRequest, Cancelled, PersonaNotInScene, SceneNotFound
from sidecar.personas.loader import PersonaSet
from sidecar.personas.model import Persona
from sidecar.store import scenes
from sidecar.store import world as world_facts
from sidecar.store.db import AffinityWrite, NewMessage
from sidecar.store.relations import NpcRelations


async def _no_emit(event: str, data: Mapping[str, Any]) -> None:
    return None


@dataclass(frozen=True)
class SceneLine:
    speaker: str
    name: str
    text: str
    addressed_to: tuple[str, ...]
    seq: int
    feeling: Feeling

    def wire(self) -> dict[str, Any]:
        """The line as `scene.line` events and replies carry it."""
        return {
            "speaker": self.speaker,
            "name": self.name,
            "text": self.text,
            "addressed_to": list(self.addressed_to),
            "seq": self.seq,
            "emotion": self.feeling.emotion,
            "intensity": self.feeling.intensity,
        }


@dataclass(frozen=True)
class SceneStarted:
    scene: str
    lines: tuple[SceneLine, ...]
    options: tuple[Option, ...]
    affinity: Mapping[str, Affinity]


@dataclass(frozen=True)
class SceneSaid:
    lines: tuple[SceneLine, ...]
    options: tuple[Option, ...]
    affinity: Mapping[str, Affinity]
    ended: bool
    interrupted: bool = False
    turns: tuple[turns.Turn, ...] = ()
    """What the turn-taker decided, line by line (for logs and tests)."""


@dataclass(frozen=True)
class SceneSettings:
    strategy: turns.Strategy = "natural"
    max_lines: int = 6
    max_tokens: int | None = None
    talkativeness: float | None = None
    max_usd: float | None = None


class SceneDirector:
    """Every scene op over the conversation service's steps (`Dialogue`)."""

    def __init__(self, dialogue: Dialogue) -> None:
        self.dialogue = dialogue
        self.store = dialogue.store
        self.personas = dialogue.personas
        self.relations = NpcRelations(self.store)
        self._mentions: tuple[tuple[int, ...], PersonaSet] | None = None

    # --- who is named --------------------------------------------------------------------

    def named(self, text: str) -> list[str]:
        """Persona ids `text` names, in order of first mention (the loader's one mention rule)."""
        everyone = self.personas.all()
        key = tuple(id(p) for p in everyone)
        if self._mentions is None or self._mentions[0] != key:
            # The registry is swapped whole on reload: rebuild the name index only then.
            self._mentions = (key, PersonaSet(personas={p.id: p for p in everyone}))
        return [p.id for p in self._mentions[1].mentioned_in(text)]

    # --- start / join / leave / end ------------------------------------------------------

    async def start(
        self,
        personas: Sequence[str],
        player: str,
        *,
        seed: int | None = None,
        player_name: str | None = None,
        settings: SceneSettings = SceneSettings(),
    ) -> SceneStarted:
        """A new scene and each NPC's greeting. Raises PersonaNotFound (nothing stored)."""
        cast = [self.personas.get(p) for p in personas]
        if len({p.id for p in cast}) != len(cast):
            raise BadRequest("a scene names each persona once", details={"personas": list(personas)})
        seed = secrets.randbits(31) if seed is None else seed
        scene_id = "s_" + secrets.token_hex(8)
        world = await self.store.run(world_facts.facts)
        given = ConversationState(player_name=player_name)
        greetings: list[NewMessage] = []
        feelings_: list[Feeling] = []
        states: dict[str, dict[str, Any]] = {}
        starting: dict[str, int] = {}
        last_ctx: TurnContext | None = None
        for persona in cast:
            affinity = await self.store.affinity(player, persona.id)
            starting[persona.id] = affinity
            ctx = self._ctx(persona, cast, player, affinity, seed, given, world)
            greeting = self.dialogue.engine.greet(ctx, await self.dialogue.recall.greeting(player, persona.id))
            message, feel = _embedded_line(persona, greeting, affinity)
            greetings.append(message)
            feelings_.append(feel)
            states[persona.id] = replace(given, engine=greeting.memory).to_json()
            last_ctx = ctx
        assert last_ctx is not None  # the protocol refuses an empty cast
        # Together in the scene, NPCs who like each other gossip (engine/gossip.py's rule, run
        # by the turn's overhear step): after the greetings, so no greeting is made from
        # hearsay; each passed memory is sourced to its teller's greeting.
        greeted = {p.id: k for k, p in enumerate(cast)}
        told = await self.dialogue.overhear.meet(player, list(itertools.combinations(cast, 2)))
        told = tuple(replace(m, line=greeted[m.told_by]) for m in told if m.told_by is not None)
        options = self.dialogue.offer.embedded(last_ctx, greetings[-1].text, None)
        last = cast[-1].id
        states[last] = offered(ConversationState.from_json(states[last]), options).to_json()
        values = await self.store.run(
            scenes.create,
            scenes.NewScene(
                scene=scene_id,
                player=player,
                seed=seed,
                strategy=settings.strategy,
                max_lines=settings.max_lines,
                max_tokens=settings.max_tokens,
                talkativeness=settings.talkativeness,
                max_usd=settings.max_usd,
                personas=tuple(p.id for p in cast),
                greetings=tuple(greetings),
                states=states,
                affinity=starting,
                memories=told,
            ),
        )
        lines = tuple(
            SceneLine(p.id, p.name, g.text, (), seq, f)
            for seq, (p, g, f) in enumerate(zip(cast, greetings, feelings_, strict=True))
        )
        return SceneStarted(scene_id, lines, tuple(options), {p: Affinity(v, 0, "greeting") for p, v in values.items()})

    def _ctx(
        self,
        persona: Persona,
        present: Sequence[Persona],
        player: str,
        affinity: int,
        seed: int,
        state: ConversationState,
        world: Mapping[str, world_facts.Value],
    ) -> TurnContext:
        here = {p.id for p in present}
        return TurnContext(
            persona=persona_in(persona, world),
            player=player,
            affinity=affinity,
            seed=seed,
            turn=0,
            state=state,
            others=tuple(p for p in present if p.id != persona.id),
            neighbours=tuple(p for p in self.personas.all() if p.id not in here),
        )

    async def join(self, scene: str, persona: str) -> tuple[str, ...]:
        """Raises PersonaNotFound, SceneNotFound, ConversationEnded, BadRequest (already in)."""
        found = self.personas.get(persona)
        row = await self.store.run(scenes.open_scene, scene)
        affinity = await self.store.affinity(row.player, found.id)
        # The joiner meets each NPC present: gossip flows where the rule allows, stored with
        # the join (a refused join stores none of it).
        present = [self.personas.get(m.persona) for m in row.present if m.persona != found.id]
        told = await self.dialogue.overhear.meet(row.player, [(found, p) for p in present])
        joined = await self.store.run(scenes.join, scene, found.id, affinity=affinity, told=told)
        return tuple(m.persona for m in joined.present)

    async def leave(self, scene: str, persona: str) -> tuple[str, ...]:
        """Raises SceneNotFound, ConversationEnded, PersonaNotInScene, BadRequest (the last one)."""
        left = await self.store.run(scenes.leave, scene, persona)
        return tuple(m.persona for m in left.present)

    async def end(self, scene: str) -> tuple[SceneLine, ...]:
        """Each present NPC's farewell; the scene ends. Raises SceneNotFound, ConversationEnded."""
        row = await self.store.run(scenes.open_scene, scene)
        present = [self.personas.get(m.persona) for m in row.present]
        world = await self.store.run(world_facts.facts)
        messages: list[NewMessage] = []
        feels: list[Feeling] = []
        states: dict[str, dict[str, Any]] = {}
        for persona in present:
            member = row.member(persona.id)
            assert member is not None
            state = ConversationState.from_json(member.state)
            affinity = await self.store.affinity(row.player, persona.id)
            ctx = self._ctx(persona, present, row.player, affinity, row.seed, state, world)
            farewell = self.dialogue.engine.farewell(ctx)
            message, feel = _embedded_line(persona, farewell, affinity)
            messages.append(message)
            feels.append(feel)
            states[persona.id] = replace(state, engine=farewell.memory).to_json()
        hearers = tuple(p.id for p in present)
        first = await self.store.run(scenes.next_seq, scene)
        await self.store.run(scenes.end, scenes.Farewells(scene, tuple(messages), hearers, states))
        return tuple(
            SceneLine(p.id, p.name, m.text, (), first + k, f)
            for k, (p, m, f) in enumerate(zip(present, messages, feels, strict=True))
        )

    # --- an exchange ---------------------------------------------------------------------

    async def say(
        self,
        scene: str,
        text: str,
        *,
        stream: bool = False,
        emit: Emit = _no_emit,
        speaker: str | None = None,
    ) -> SceneSaid:
        """The player's line and the NPCs' exchange. Raises SceneNotFound, ConversationEnded,
        PersonaNotFound / PersonaNotInScene / BadRequest for a speaker the scene cannot use,
        Cancelled when a newer line cancelled the exchange before its first line was stored
        (then nothing is stored), and a provider's error on the first line."""
        row = await self.store.run(scenes.open_scene, scene)
        present = [self.personas.get(m.persona) for m in row.present]
        if speaker is not None:
            self.personas.get(speaker)
            if speaker not in {p.id for p in present}:
                raise PersonaNotInScene(f"{speaker!r} is not in scene {scene!r}", details={"speaker": speaker})
        rng = random.Random(f"{row.seed}:{row.exchanges}")
        # How the NPCs present feel about each other, read once: the turn-taker asks often.
        bonds = await StoredBonds.load(self.relations, present)
        try:
            taker = turns.plan(
                row.strategy,
                turns.members(
                    [p.id for p in present],
                    {p.id: p.interests for p in present},
                    {p.id: p.talkativeness for p in present},
                ),
                named=self.named(text),
                line=text,
                rng=rng,
                last_addressed=row.last_addressed,
                speaker=speaker,
                policy=turns.Policy(max_lines=row.max_lines, talkativeness=row.talkativeness),
                bonds=bonds,
            )
        except turns.SceneRuleError as exc:
            raise BadRequest(str(exc), details={"scene": scene}) from None
        exchange = _Exchange(self, row, present, text, bonds, stream=stream, emit=emit)
        return await exchange.run(taker)

    async def history_exists(self, scene: str) -> None:
        """Raises SceneNotFound when there is no such scene (an ended one is fine)."""
        if await self.store.run(scenes.load, scene) is None:
            raise SceneNotFound(f"no scene {scene!r}", details={"scene": scene})


def _answers_a_joke(draft: Draft) -> bool:
    made = draft.generation.line.composition
    return made is not None and JOKE_HEARD in made.notes


def _embedded_line(persona: Persona, made: Composed, affinity: int) -> tuple[NewMessage, Feeling]:
    """A greeting or farewell as stored: the embedded engine's, with its emotion."""
    tone = analyze(made.text)
    feel = feelings.derive(made.text, tone, affinity=affinity, voice=tune(persona, affinity).voice)
    return embedded_message(persona, made.text, tone, feel), feel


class _Exchange:
    """One player line's exchange: the lines so far and what each speaker's affinity did."""

    def __init__(
        self,
        director: SceneDirector,
        row: scenes.SceneRow,
        present: Sequence[Persona],
        text: str,
        bonds: StoredBonds,
        *,
        stream: bool,
        emit: Emit,
    ) -> None:
        self.d = director
        self.dialogue = director.dialogue
        self.row = row
        self.present = tuple(present)
        self.text = text
        self.stream = stream
        self.emit = emit
        self.bonds = bonds
        self.lines: list[SceneLine] = []
        self.turns: list[turns.Turn] = []
        """The turn of each stored line."""
        self.affinity: dict[str, Affinity] = {}
        self.tokens = 0
        self.usd = 0.0
        self.ended = False
        self.last: Draft | None = None

    def _cancelled(self) -> bool:
        token = CANCEL.get()
        return token is not None and token.is_set()

    async def run(self, taker: turns.TurnTaker) -> SceneSaid:
        interrupted = False
        # Once the player's line proves a goodbye (the first line ends the talk), each other
        # present NPC that has not said goodbye answers it in turn, and nobody banters.
        farewells: list[turns.Turn] | None = None
        while not self.ended:
            if self._cancelled():
                interrupted = True
                break
            if self.lines and self._spent():
                taker.stop()
                break
            if farewells is None:
                turn = taker.next_turn()
            else:
                turn = farewells.pop(0) if farewells and len(self.lines) < self.row.max_lines else None
            if turn is None:
                break
            try:
                made = await self._line(turn, taker)
            except Cancelled:
                interrupted = True
                break
            if made is None:  # cancelled after the line was made: it is dropped
                interrupted = True
                break
            if self.last is not None and _answers_a_joke(self.last):
                taker.no_banter()
            if farewells is None and self.last is not None and self.last.generation.ending:
                said_goodbye = {m.persona for m in self.row.members if m.farewell} | {self.lines[-1].speaker}
                farewells = [turns.Turn(p.id, (), "farewell") for p in self.present if p.id not in said_goodbye]
        if interrupted and not self.lines:
            raise Cancelled("a newer line to this scene cancelled the exchange")
        options = () if interrupted or self.ended else await self._options()
        return SceneSaid(tuple(self.lines), options, dict(self.affinity), self.ended, interrupted, tuple(self.turns))

    def _spent(self) -> bool:
        """Whether the exchange's budgets are used up (the first line is always said)."""
        row = self.row
        return (row.max_tokens is not None and self.tokens >= row.max_tokens) or (
            row.max_usd is not None and self.usd >= row.max_usd
        )

    def _cue_for(self, speaker: Persona, turn: turns.Turn, player_name: str) -> SceneCue:
        """What the speaker's line source is told of the scene (engine/scene/cue.py): whom it
        addresses and how it stands toward them, who else is here, the line it answers (the
        exchange's last line, else the player's; a farewell and a line to everyone answer the
        player's, as each NPC's own answer to it)."""
        last = self.lines[-1] if self.lines and turn.why not in ("farewell", "group") else None
        answering = Answering(last.speaker, last.name, last.text) if last else Answering(PLAYER, player_name, self.text)
        to = turn.addressed_to[0] if turn.addressed_to else None
        return make_cue(
            speaker,
            turn.addressed_to,
            self.present,
            player_name=player_name,
            answering=answering,
            affinity=self.bonds.affinity(speaker.id, to) if to is not None else None,
        )

    async def _line(self, turn: turns.Turn, taker: turns.TurnTaker) -> bool | None:
        """One NPC line, stored: True; nothing of the speaker's own to store (it only wrote
        lines for others, who get their turns): False; cancelled once made: None."""
        store = self.d.store
        speaker = self.d.personas.get(turn.speaker)
        state = await store.run(scenes.turn_state, self.row.id, speaker.id, HISTORY_WINDOW)
        everyone = self.d.personas.all()
        draft = read_line(state, speaker, self.text, others=other_names(speaker, everyone), neighbours=everyone)
        others = tuple(p for p in self.present if p.id != speaker.id)
        here = {p.id for p in self.present}
        ctx = replace(draft.ctx, others=others, neighbours=tuple(p for p in draft.ctx.neighbours if p.id not in here))
        cue = self._cue_for(speaker, turn, ctx.player_name or self.row.player)
        draft.ctx = ctx
        draft.turn = replace(draft.turn, ctx=ctx, scene=cue)
        draft.recalled = await self.dialogue.recall(draft)
        draft.turn = replace(draft.turn, memories=draft.recalled.memories)
        draft.context = await self.dialogue.context(draft)

        async def said_by(event: str, data: Mapping[str, Any]) -> None:
            if event in ("line.delta", "line.reset"):
                data = {**data, "speaker": speaker.id}
            await self.emit(event, data)

        draft.generation = await self.dialogue.generate(draft, stream=self.stream, emit=said_by)
        # Nobody speaks for anyone else: lines written under another's label are cut, and
        # each present NPC voiced gets a turn of its own (if the cap allows). A provider's
        # reply was cut already where another's label began (the stream cleaner) and the
        # routed source says whom it voiced; the embedded engine's line is cut here.
        gen = draft.generation
        voiced = gen.line.meta.get(attribution.VOICED)
        split = (
            attribution.Split(gen.text, tuple((str(w), str(t)) for w, t in voiced))
            if gen.line.from_provider and voiced
            else attribution.split_foreign(gen.text, speaker.names, cue.others())
        )
        for who in split.voiced:
            if who != PLAYER and who in here:
                taker.let_speak(who, (speaker.id,))
        if split.foreign and not gen.line.from_provider:
            if self.stream:
                await said_by("line.reset", {"reason": "foreign"})
                for chunk in chunks(split.own) if split.own else ():
                    await said_by("line.delta", {"text": chunk})
            if not split.own:
                return False
            gen = draft.generation
            draft.generation = replace(gen, line=replace(gen.line, text=split.own))
        draft.settled = await self.dialogue.settle(draft)
        opens = not self.lines
        memories: tuple[Any, ...] = ()
        if opens:
            draft.remembered = await self.dialogue.remember(draft)
            memories = (*draft.remembered, *overheard(draft.remembered, speaker, others))
        else:
            draft.remembered = ()
        if self._cancelled():
            return None
        gen, settled = draft.generation, draft.settled
        first_word = speaker.id not in self.affinity
        # The NPC's line as a one-to-one turn stores it (quality rules included).
        npc = npc_message(draft)
        player = player_message(draft, self.row.player, self.text)
        after = replace(draft.ctx.state, engine=gen.memory, arc_episode=settled.arc.episode, options_round=0)
        stored = await store.run(
            scenes.commit_line,
            scenes.LineWrite(
                scene=self.row.id,
                speaker=speaker.id,
                messages=(player, npc) if opens else (npc,),
                hearers=tuple(p.id for p in self.present),
                state=after.to_json(),
                # The player's line moves each NPC's affinity once, with the NPC's first line.
                affinity=AffinityWrite(settled.change.delta, settled.change.reason) if first_word else None,
                memories=memories,
                summary=draft.context.write,
                farewell=gen.ending,
                addressed=turn.addressed_to[0] if turn.addressed_to else None,
                opens_exchange=opens,
            ),
        )
        line = SceneLine(speaker.id, speaker.name, gen.text, turn.addressed_to, stored.seq, settled.feeling)
        self.lines.append(line)
        self.tokens += estimate_tokens(gen.text)
        self.usd += float(gen.line.meta.get("usd", 0.0))  # the routed source's cost of the line
        before = self.affinity.get(speaker.id)
        delta = (before.delta if before else 0) + stored.affinity.delta
        reason = settled.change.reason if first_word else (before.reason if before else "")
        self.affinity[speaker.id] = Affinity(stored.affinity.new, delta, reason)
        self.turns.append(turn)
        self.ended = stored.ended
        self.last = draft
        for to in turn.addressed_to:
            # How the one spoken to feels about the speaker moves by the line's tone.
            self.bonds.tone_move(speaker.id, to, gen.text)
        await self.bonds.commit()
        await self.emit("scene.line", line.wire())
        if stored.affinity.delta:
            await self.emit(
                "affinity_changed",
                {
                    "persona": speaker.id,
                    "old": stored.affinity.old,
                    "new": stored.affinity.new,
                    "delta": stored.affinity.delta,
                    "reason": settled.change.reason,
                },
            )
        return True

    async def _options(self) -> tuple[Option, ...]:
        """The player's answer options for the exchange's last line, kept in that speaker's
        state (what the game was shown)."""
        draft = self.last
        if draft is None:
            return ()
        options = await self.dialogue.offer(draft)
        gen, settled = draft.generation, draft.settled
        after = replace(draft.ctx.state, engine=gen.memory, arc_episode=settled.arc.episode, options_round=0)
        await self.d.store.run(scenes.set_state, self.row.id, draft.speaker.id, offered(after, options).to_json())
        return tuple(options)


__all__ = ["SceneDirector", "SceneLine", "SceneSaid", "SceneSettings", "SceneStarted"]
