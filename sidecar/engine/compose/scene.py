"""The embedded engine in a multi-NPC scene (issue 14): a line given a `SceneCue`.

The first line of an exchange answers the player (the ordinary reply) and then turns to the
NPC it addresses, by name, in the manner of its leaning (`scene_handoff`: agree, argue,
neutral; sidecar/data/scene.toml). A later line answers the NPC line before it: it speaks to
that NPC by name first (`scene_react`: "Oh, come off it, Rook!" from a rival), then gives the
speaker's own take on what the talk is about (its persona topic or opinion on the player's
line, else on the answered line; never a greeting; with none, agreeing or arguing is the
line), and
turns to the next NPC when it addresses someone else.

A scene line never repeats the line it answers: that line joins the speaker's no-repeat window
for this call, so neither it nor any shared phrase inside it is said again. Reading another
NPC's line teaches the speaker nothing about the player (it is never `learn`ed from).
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Sequence

from sidecar.engine.actions import gives_errands
from sidecar.engine.compose.call import Call
from sidecar.engine.compose.index import index_for
from sidecar.engine.compose.memory import WorkingMemory
from sidecar.engine.compose.sentence import Draft, clean
from sidecar.engine.data import read_toml, word_list
from sidecar.engine.reading import read
from sidecar.engine.scene.cue import Answering, Leaning, SceneCue, stance_toward
from sidecar.engine.text import holds, normalize, sentences, tokens
from sidecar.engine.types import PLAYER, Composed, TurnContext
from sidecar.personas.model import Persona


def _names(text: str, persona: Persona) -> bool:
    """Whether `text` already speaks `persona`'s name (or an alias) as a word."""
    return any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text, re.IGNORECASE) for n in persona.names)


def _says_name(text: str, persona: Persona) -> bool:
    """Whether `text` speaks `persona`'s own name as a word (not a title such as "the smith")."""
    return re.search(rf"(?<!\w){re.escape(persona.name)}(?!\w)", text, re.IGNORECASE) is not None


SUBJECT_MARKERS = frozenset(word_list(read_toml("words.toml"), "words.toml", "subject_markers"))
"""A name right after one of these is what the line is about ("think of Goldie")."""
_LAST_WORD = re.compile(r"(\w+)\W*$")


@functools.lru_cache(maxsize=256)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """Any of `names` (longest first) as a word, with a possessive. Cached: a scene asks for
    the same few sets line after line."""
    if not names:
        return None
    alts = "|".join(r"\s+".join(re.escape(w) for w in n.split()) for n in names)
    return re.compile(rf"(?<!\w)(?:{alts})(?:['\u2019]s)?(?!\w)", re.IGNORECASE)


def without_names(text: str, people: Sequence[Persona], *, keep_subjects: bool = False) -> str:
    """`text` with every name and alias of `people` taken out (possessives too): in a scene,
    the names in a line mostly say whom it is spoken to, not what it is about. With
    `keep_subjects`, a name after a `SUBJECT_MARKERS` word stays ("what of Goldie?")."""
    names = sorted({n for p in people for n in p.names if n.strip()}, key=lambda n: (-len(n), n))
    pattern = _names_pattern(tuple(names))
    if pattern is None:
        return text

    def cut(m: re.Match[str]) -> str:
        before = _LAST_WORD.search(text[: m.start()])
        if keep_subjects and before is not None and before.group(1).lower() in SUBJECT_MARKERS:
            return m.group(0)
        return " "

    return pattern.sub(cut, text)


def _spoken_to(ctx: TurnContext, cue: SceneCue) -> list[Persona]:
    """The speaker, the NPC it answers and the ones it addresses: names that are no topic."""
    answered = cue.answering.speaker if cue.answering is not None else None
    return [ctx.persona, *cue.addressees, *(p for p in cue.present if p.id == answered)]


_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|my|me|mine|myself)\b")


def _is_subject(text: str, persona: Persona) -> bool:
    """Whether `text` is about `persona` ("what do you think of Goldie?"): one of its names
    right after a `SUBJECT_MARKERS` word."""
    return without_names(text, [persona], keep_subjects=True) != without_names(text, [persona])


def _leaning_toward(ctx: TurnContext, cue: SceneCue, other: str, answered: Answering | None = None) -> Leaning:
    if cue.stance is not None and cue.stance.toward == other:
        return cue.stance.leaning
    persona = next((p for p in cue.present if p.id == other), None)
    if persona is None:
        return "neutral"
    return stance_toward(ctx.persona, persona, None, answered).leaning


JOKE_HEARD = "core:joke:heard"
"""The note of a line that answers the joke another NPC just told (a laugh or a groan): the
director lets no banter follow it."""

_NOTHING_SAID = ("core:fallback", "core:self:none")
"""Notes of a line with nothing of its own to say ("I'm not sure I know about that.")."""


def _handoff(
    turn: Call, rng: random.Random, mem: WorkingMemory, cue: SceneCue, ctx: TurnContext, *, said_nothing: bool = False
) -> str:
    """The turn to the next NPC. After a line with nothing in it, it only passes the word on
    (`neutral`): "Isn't that so, Goldie?" after "I'm not sure I know about that" reads wrong."""
    to = cue.addressees[0]
    lean = "neutral" if said_nothing else _leaning_toward(ctx, cue, to.id)
    return turn.pick(rng, turn.ph("scene_handoff", turn.voice, lean), mem, "", to=to.name)


def hand_off(ctx: TurnContext, cue: SceneCue, base: Composed) -> Composed:
    """`base` (the reply to the player's line) turned to the NPC the cue addresses, by name.
    A line that already names it, an ending line, and a line to the player stay as they are."""
    addressees = cue.addressees
    # Only its own name turns a line to an NPC: "the smith, the herbalist…" in a line about
    # the village speaks of them, and the word still has to be passed on.
    if base.ending or not addressees or _says_name(base.text, addressees[0]):
        return base
    turn = Call(ctx, "scene_handoff")
    mem = WorkingMemory.load(base.memory)
    rng = turn.rng(0)
    # A punchline, like a line with nothing in it, is no claim to agree or argue with: "I
    # can feel Goldie disagreeing already." after a joke starts a quarrel about nothing.
    said_nothing = any(note in _NOTHING_SAID or note == "core:joke" for note in base.notes)
    handoff = _handoff(turn, rng, mem, cue, ctx, said_nothing=said_nothing)
    kept = sentences(base.text)
    while len(kept) > 1 and kept[-1].endswith("?"):
        kept.pop()  # questions back to the player ("And you? What brings you…?") give way
    text = clean(f"{' '.join(kept)} {handoff}")
    while len(text) > turn.max_chars and len(kept) > 1:
        kept.pop()  # the name stays: the line's point in a scene is to pass the word on
        text = clean(f"{' '.join(kept)} {handoff}")
    mem.note_said(text)
    lean = "neutral" if said_nothing else _leaning_toward(ctx, cue, addressees[0].id)
    return Composed(text=text, memory=mem.freeze(), ending=False, topic=base.topic,
                    notes=(*base.notes, f"scene:handoff:{lean}"), emotion=base.emotion)


def answer(ctx: TurnContext, cue: SceneCue, player_text: str, *, news: str = "") -> Composed:
    """A line answering the NPC line `cue.answering` (a later line of the exchange)."""
    answered = cue.answering
    assert answered is not None and answered.speaker != PLAYER  # the caller's rule
    turn = Call(ctx, "scene")
    own = normalize(answered.text)
    if own:
        turn.recent.add(own)  # never say the line it answers, nor a phrase of it
    persona = ctx.persona
    index = index_for(persona)
    spoken_to = _spoken_to(ctx, cue)
    heard = tokens(without_names(player_text, [persona, *cue.present], keep_subjects=True))
    answered_words = tokens(without_names(answered.text, spoken_to))
    # What the player asked comes first: "Goldie, Rook, what do you think of Ansel?" is
    # answered by Rook's opinion of Ansel, not by his romance topic on a word of Goldie's line.
    asked_topics, asked_opinions = index.topics.find(heard), index.opinions.find(heard)
    topics = asked_topics or index.topics.find(answered_words)
    opinions = asked_opinions or index.opinions.find(answered_words)
    opinion_first = bool(asked_opinions) and not asked_topics
    lean = _leaning_toward(ctx, cue, answered.speaker, answered)
    to_next = cue.addressees[0] if cue.addressees and cue.addressees[0].id != answered.speaker else None
    notes = [f"voice:{turn.voice}", f"scene:answer:{lean}"]

    others = [p for p in spoken_to if p.id != persona.id]
    asked_about_me = _is_subject(player_text, persona)
    personal = [f for f in persona.facts if _FIRST_PERSON.search(f)]

    # Asked for work, each NPC answers once in the exchange; after that it talks as usual.
    asks_work = read(player_text).asks_work and not _answered_work(ctx, turn)
    teller = next((p for p in cue.present if p.id == answered.speaker), None)
    heard_joke = teller is not None and any(holds(answered.text, j) for j in teller.jokes)

    def draft(rng: random.Random, mem: WorkingMemory) -> tuple[str, tuple[str | None, str]]:
        d = Draft(news=news, max_chars=turn.max_chars)
        if heard_joke:
            # The joke {to} just told is answered with a laugh, or a rival's groan, alone.
            d.core = turn.pick(rng, turn.ph("scene_joke", turn.voice, lean), mem, "", to=answered.name)
            if to_next is not None:
                d.tail = _handoff(turn, rng, mem, cue, ctx, said_nothing=True)
            return d.text(), (None, JOKE_HEARD)
        d.reaction = turn.pick(rng, turn.ph("scene_react", turn.voice, lean), mem, "", to=answered.name)
        topic: str | None = None
        core: str | None = None
        why = "core:fallback"
        if asks_work:
            # "Goldie, Ansel, any work for me?": each answers for its own work to give (put
            # off till it is alone with the player: a scene decides no action), not its trade.
            table = "work_later" if gives_errands(persona.actions) else "no_work"
            core, why = turn.pick(rng, turn.ph(table, turn.voice), mem, ""), f"core:work:{table}"
        if core is None and asked_about_me and personal:
            # "Rook, what do you think of Goldie?": Goldie, answering Rook, speaks of herself.
            core = turn.pick_fresh_line(rng, personal, mem)
            why = "core:fact"
        if core is None and opinion_first:
            said = turn.render(persona.opinions[opinions[0]], mem)
            if not turn.said_recently(said):
                core, why = said, f"core:opinion:{opinions[0]}"
                mem.note_core(normalize(said))
        if core is None and topics:
            lines = persona.topics[topics[0]].lines
            # Not a line about the one it speaks to: "Rook. I lent Rook…" talks past him.
            aimed = [line for line in lines if not any(_names(line, p) for p in others)] or lines
            core = turn.pick_fresh_line(rng, aimed, mem)
            if core is not None:
                topic, why = topics[0], f"core:topic:{topics[0]}"
                mem.topics[topic] = mem.topics.get(topic, 0) + 1
        if core is None and opinions:
            said = turn.render(persona.opinions[opinions[0]], mem)
            if not turn.said_recently(said):
                core, why = said, f"core:opinion:{opinions[0]}"
                mem.note_core(normalize(said))
        if core is None and lean != "neutral":
            # Nothing of its own on this: agreeing or arguing is the whole line ("For once,
            # Ansel is right."); a fallback after it reads as said to the player.
            d.core, d.reaction = d.reaction, ""
        elif core is None:
            # A neutral reaction alone is a stammer ("Oh, Sorrel…"), and the persona's
            # fallbacks are said to the player ("Can't say I follow, petal"): an aside to the
            # NPC it answers is the whole line.
            d.core = turn.pick(rng, turn.ph("scene_aside", turn.voice), mem, "", to=answered.name)
            d.reaction = ""
        else:
            d.core = core
        if to_next is None:
            return d.text(), (topic, why)
        handoff = _handoff(turn, rng, mem, cue, ctx, said_nothing=why in _NOTHING_SAID)
        d.tail = handoff
        text = d.text()  # may drop the tail (and clear it) to fit the length budget
        if normalize(handoff) not in normalize(text):
            # Dropped for length: the core gives way, the next NPC's name does not.
            d.core, d.extras, d.tail = sentences(d.core)[0], [], ""
            text = clean(f"{d.text()} {handoff}")
        return text, (topic, why)

    text, mem, (topic, why) = turn.finish(draft, notes=notes)
    notes.append(why)
    return Composed(text=text, memory=mem.freeze(), topic=topic, notes=tuple(notes))


def _answered_work(ctx: TurnContext, turn: Call) -> bool:
    """Whether the speaker answered the player's ask for work in this exchange already (one
    of its lines since the player's holds a `work_later` or `no_work` line)."""
    since: list[str] = []
    for line in reversed(ctx.history):
        if line.speaker == PLAYER:
            break
        if line.speaker == ctx.persona.id:
            since.append(line.text)
    starts = [w.split("{")[0].rstrip(", ") for table in ("work_later", "no_work") for w in turn.ph(table, turn.voice)]
    return any(holds(text, start) for text in since for start in starts if start)


def first_line_text(ctx: TurnContext, cue: SceneCue, player_text: str) -> str:
    """The player's line as the first speaker's reply reads it: without the names of the NPCs
    present, whom the player speaks to ("Ansel, Goldie, Rook: what of the festival?" is about
    the festival, and Ansel answers that, not its topic on Rook), but with a name the line is
    about ("Ansel, what do you think of Goldie?")."""
    return without_names(player_text, [ctx.persona, *cue.present], keep_subjects=True)


__all__ = ["JOKE_HEARD", "answer", "first_line_text", "hand_off", "without_names"]
