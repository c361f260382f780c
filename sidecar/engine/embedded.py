"""The embedded engine: in-character replies composed from the persona file, offline.

This module is the engine's front (`EmbeddedEngine`); the parts it is made of, and the public
API in one place, are described in sidecar/engine/compose/__init__.py.

No network, no key, and deterministic: every choice comes from a `random.Random` seeded with
a stable hash of (conversation seed, turn, persona id, purpose) — never the global RNG and
never `hash()` of a str, which changes with PYTHONHASHSEED.

A reply is built from parts — a voice opener, a reaction to the player's tone, an
acknowledgement of what they said about themselves, the core (topic line, opinion, fact,
memory answer, small talk or fallback), extras, an aside and a question back — and then shaped
by the personality `Tuning` (length budget, hesitation, exclamations, sarcasm, playfulness,
qualifications, asking back) and by affinity (guarded below 20, expressive above 80).

What the engine learns (the player's name, likes, dislikes) and what it said (for the
no-repeat rule and for rotating lines) lives in `Composed.memory`, an `EngineMemory`
(sidecar/engine/state.py) the turn pipeline stores in the conversation state and hands back
next turn as `ctx.state.engine`.

No-repeat rule: a reply never equals (after normalising case, spacing and punctuation) any of
this NPC's last `NO_REPEAT_WINDOW` lines, counting both `ctx.history` and memory. Persona lines
rotate (unused first); a core said within the window is not said again — a topic whose lines
are all recent gets "I've told you what I know of the old mill" instead, because a repeated
core makes a near-repeat that the quality gate refuses. If every wording still collides, the
NPC changes the subject with one of more lines than the window holds, so a fresh one exists.
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Sequence
from dataclasses import replace

from sidecar.engine import options as option_rules
from sidecar.engine import remember, requests
from sidecar.engine import tone as tones
from sidecar.engine.compose import recollect
from sidecar.engine.compose import scene as scene_lines
from sidecar.engine.compose.call import NO_REPEAT_WINDOW, Call
from sidecar.engine.compose.index import forms, index_for
from sidecar.engine.compose.memory import WorkingMemory, learn
from sidecar.engine.compose.reply import care, draft_reply, goodbye
from sidecar.engine.compose.sentence import Draft
from sidecar.engine.reading import MAX_PARSED_CHARS, Reading, read
from sidecar.engine.recollect import Recollection
from sidecar.engine.scene.cue import SceneCue
from sidecar.engine.sentiment import Tone
from sidecar.engine.types import PLAYER, Composed, Option, Sentiment, TurnContext


def _request_answered(ctx: TurnContext) -> requests.Asked | None:
    """The NPC's own request the player asked for in one of the last two exchanges: what a
    "How much?" is about, or the "Yes, please." after the price ("Can you make me a ring?" …
    "How much would that cost?" … "Yes, please.")."""
    for player_text, _ in itertools.islice(ctx.exchanges(), 2):
        text = player_text[:MAX_PARSED_CHARS]
        asked = requests.hear(text, read(text).tokens, ctx.persona, ctx.neighbours, forms)
        if asked is not None:
            return asked if asked.kind == "own" else None
    return None


def _price_asked(ctx: TurnContext) -> bool:
    last = ctx.last_exchange()
    return last is not None and read(last[0][:MAX_PARSED_CHARS]).asks_price


@functools.lru_cache(maxsize=1024)
def _heard(player_text: str, tone: Tone) -> Reading:
    """The reading of the player's line with the tone the pipeline read (both pure of the
    text; a `replace` of the reading's many fields cost more than the cached read itself)."""
    return replace(read(player_text), tone=tone)


class EmbeddedEngine:
    """The offline, deterministic provider. Stateless: all state travels in `ctx.state.engine`.

    Every method is a pure function of its arguments (same context → same result) and never
    raises for any player text; a persona that passed validation is all it needs.
    """

    name = "embedded"

    def greet(self, ctx: TurnContext, memories: Sequence[Recollection] = ()) -> Composed:
        """The NPC's opening line: a persona greeting, colder below affinity 20 and warmer
        above 80. A returning player (`memories`: what the NPC remembers of them, best first)
        is greeted by the name the NPC remembers, and a promise from before is brought up."""
        turn = Call(ctx, "greet")
        notes = ["greeting", f"voice:{turn.voice}", f"band:{turn.tuning.band}"]
        recollect.seed(turn.mem, memories)
        if memories:
            notes.append("returning")

        def draft(rng: random.Random, mem: WorkingMemory) -> tuple[str, None]:
            d = Draft(core=turn.pick_line(rng, ctx.persona.greetings, mem),
                      max_chars=turn.max_chars)
            if memories:
                hello, promised = recollect.welcome(turn, rng, mem, memories)
                if promised:
                    d.reaction, d.core = hello, promised
                    return d.text(), None
                if hello:
                    d.core = hello
            band = turn.tuning.band
            addr = turn.name_for_addressing(mem)
            if band == "guarded" and rng.random() < 0.8:
                d.tail = turn.pick(rng, turn.ph("guarded_tails"))
            elif band == "close" and rng.random() < 0.8:
                d.tail = turn.pick(rng, turn.ph("close_tails"), mem, addr)
            else:
                turn.sprinkle(rng, d, mem)
            return d.text(), None

        text, mem, _ = turn.finish(draft, notes=notes)
        return Composed(text=text, memory=mem.freeze(), notes=tuple(notes))

    def farewell(self, ctx: TurnContext) -> Composed:
        """The NPC ends the conversation (the game closed it): a persona farewell."""
        turn = Call(ctx, "farewell")
        notes = ["farewell", f"voice:{turn.voice}"]
        text, mem, _ = turn.finish(
            lambda rng, mem: (goodbye(turn, rng, mem, "neutral").text(), None), notes=notes
        )
        return Composed(text=text, memory=mem.freeze(), ending=True, notes=tuple(notes))

    def reply(
        self,
        ctx: TurnContext,
        player_text: str,
        sentiment: Sentiment,
        tone: tones.ToneReading | None = None,
        memories: Sequence[Recollection] = (),
        *,
        news: str = "",
    ) -> Composed:
        """Answer one player line in character. Learns the player's name, likes and dislikes
        into memory; `ending=True` when the player said goodbye. Never raises.

        The reaction follows `tone`, the player's stance toward the NPC (engine/tone.py; the
        pipeline passes the reading it computed, else it is read here from the line and
        `sentiment`): warm is answered as friendly, hostile as rude, and sad news or a fear
        told without hostility with sympathy or comfort, never as rudeness.

        `memories` (long-term, best first for this line) answer "Do you remember me?", and one
        relevant to the line is brought up once per conversation. `news` (one sentence: the
        reaction to the game's result of the NPC's last action) opens the line, in place of the
        voice's opener."""
        turn = Call(ctx, "reply")
        recollect.seed(turn.mem, memories)
        reading = tone if tone is not None else tones.read(player_text, ctx.persona.names, sentiment=sentiment)
        heard = _heard(player_text, reading.tone)
        tone_ = heard.tone
        kind = care(reading)
        notes = [f"voice:{turn.voice}", f"band:{turn.tuning.band}", f"tone:{tone_}"]
        if kind:
            notes.append(f"care:{kind}")
        new_name = heard.name if heard.name and heard.name != turn.mem.name else None
        told = remember.player_events(player_text, reading)
        notes.extend(learn(turn.mem, heard, ctx.turn))

        if heard.goodbye:
            notes.append("goodbye")
            text, mem, _ = turn.finish(
                lambda rng, mem: (goodbye(turn, rng, mem, kind or tone_, news).text(), None), notes=notes
            )
            return Composed(text=text, memory=mem.freeze(), ending=True, notes=tuple(notes))

        asked = requests.hear(player_text[:MAX_PARSED_CHARS], heard.tokens, ctx.persona,
                              ctx.neighbours, forms)
        if any(m.kind == "secret" for m in told):
            asked = None  # "Can you keep a secret? I broke the bridge." asks for no smith
        if asked is not None and asked.kind == "nobody":
            index = index_for(ctx.persona)
            if index.topics.find(heard.tokens) or index.opinions.find(heard.tokens):
                asked = None  # "Do you make blades?" to a smith who only has a topic on them
        if asked is None and (heard.asks_price or (heard.agrees and _price_asked(ctx))):
            # "How much would that cost?" right after the smith agreed to make a ring, and the
            # "Yes, please." after he named the price: the ring again, its price, then its yes.
            asked = _request_answered(ctx)

        def draft(rng: random.Random, mem: WorkingMemory) -> tuple[str, tuple[str | None, list[str]]]:
            d, topic, why = draft_reply(turn, rng, mem, heard, tone_, new_name, asked, kind,
                                        jab=reading.jab, memories=memories, told=told,
                                        player_text=player_text, news=news)
            return d.text(), (topic, why)

        text, mem, (topic, why) = turn.finish(draft, notes=notes)
        notes.extend(why)
        return Composed(text=text, memory=mem.freeze(), topic=topic, notes=tuple(notes),
                        emotion="joy" if {"core:joke", "core:joke:laughed"} & set(why) else None)

    def scene_reply(
        self,
        ctx: TurnContext,
        cue: SceneCue,
        player_text: str,
        sentiment: Sentiment,
        tone: tones.ToneReading | None = None,
        memories: Sequence[Recollection] = (),
        *,
        news: str = "",
    ) -> Composed:
        """One line of a multi-NPC scene (compose/scene.py): the first answers the player's
        line (as `reply`) and turns to the NPC it addresses by name; a later one answers the
        NPC line before it (`cue.answering`), agreeing or arguing by the speaker's leaning, and
        never repeats it. `player_text` is the player's line of the exchange. Never raises."""
        if cue.answering is None or cue.answering.speaker == PLAYER or read(player_text).goodbye:
            # The player's own line; or a goodbye, which every NPC present answers as one.
            about = scene_lines.first_line_text(ctx, cue, player_text)
            if cue.addressed_to:
                # The line is handed to another NPC: a memory of the player brought up unasked
                # would be said to that NPC as "you ..." ("I remember, you insulted Rook", said
                # to Rook). The names that made it relevant were addresses, not a subject.
                memories = [replace(r, relevance=0.0) for r in memories]
            # The reply knows it is said in company (no name asked for, no errand given).
            company = ctx if ctx.others else replace(ctx, others=cue.present)
            base = self.reply(company, about, sentiment, tone, memories, news=news)
            return scene_lines.hand_off(ctx, cue, base)
        return scene_lines.answer(ctx, cue, player_text, news=news)

    def observe(self, ctx: TurnContext, player_text: str, npc_text: str) -> Composed:
        """What the NPC remembers after a line it did not compose (a provider wrote
        `npc_text`): the player's name, likes and dislikes, the persona topic the player
        named (its count, and `topic`), and `npc_text` as said, for the no-repeat window.
        `ending` when the player said goodbye, as `reply` would. No composition, no rng: the
        cheap path for a turn whose line came from elsewhere. Never raises."""
        heard = read(player_text)
        mem = WorkingMemory.load(ctx.state.engine)
        notes = ["observed", *learn(mem, heard, ctx.turn)]
        topics = [] if heard.goodbye else index_for(ctx.persona).topics.find(heard.tokens)
        topic = topics[0] if topics else None
        if topic is not None:
            mem.topics[topic] = mem.topics.get(topic, 0) + 1
            notes.append(f"topic:{topic}")
        mem.note_said(npc_text)
        return Composed(text=npc_text, memory=mem.freeze(), ending=heard.goodbye, topic=topic,
                        notes=tuple(notes))

    def options(self, ctx: TurnContext, npc_line: str, last_player_line: str | None) -> list[Option]:
        """Three answer options for the player, intents `ask`, `share`, `leave` in that order:
        5–10 words each, distinct from each other and from `last_player_line`, built from the
        persona's topics and opinions, the NPC's line and what the player shared. Every
        `leave` option is one `reply` recognises as a goodbye. Never raises."""
        return option_rules.embedded(ctx, npc_line, last_player_line)


__all__ = ["NO_REPEAT_WINDOW", "EmbeddedEngine"]
