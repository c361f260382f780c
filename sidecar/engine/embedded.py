"""The embedded engine: in-character replies composed from the persona file, offline.

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

import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from sidecar.engine.data import read_toml, word_list
from sidecar.engine.personality import Tuning, tune
from sidecar.engine.phrases import OPTION_WORDS, VOICES
from sidecar.engine.phrases import for_persona as phrases_for
from sidecar.engine.reading import MAX_PARSED_CHARS, Reading, read
from sidecar.engine.sentiment import Tone
from sidecar.engine.state import EngineMemory, Preference
from sidecar.engine.text import chars_for_tokens, normalize, reseed
from sidecar.engine.text import tokens as _tokens
from sidecar.engine.types import Composed, Option, Sentiment, TurnContext
from sidecar.personas.model import PHRASE_TABLES, Persona

_T = TypeVar("_T")

NO_REPEAT_WINDOW = 8
"""How many of the NPC's most recent lines a new line may not repeat."""
_SAID_KEEP = 16
_CORES_KEEP = 24
_LIKES_KEEP = 8
_ATTEMPTS = 6
_HOOK_EVERY = 5
_MIN_CHARS = 12
"""A reply shorter than this gets a question back (a bare "Oh, hi…" reads as a shrug)."""

_WORDS = read_toml("words.toml")
_FAREWELL_BANDS = PHRASE_TABLES["farewell_tails"].keys
"""Affinity bands whose farewells get a tail."""

_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|my|me|mine|myself)\b")
_SAFE_TO_LOWER = frozenset(word_list(_WORDS, "words.toml", "safe_to_lower"))
"""A sentence's first word that may be lowercased when a lead-in quirk is put before it."""

_PLACEHOLDER = re.compile(r"\{(player|name)\}")
_NAME_LIKE = re.compile(r"^[^\W\d_][^\W\d_'\- ]{1,23}$")


def _forms(word: str) -> set[str]:
    """Whole-word matching with simple plurals: forge/forges, berry/berries, box/boxes."""
    forms = {word, word + "s", word + "es"}
    if len(word) > 2 and word.endswith("y") and word[-2] not in "aeiou":
        forms.add(word[:-1] + "ies")
    if len(word) > 4 and word.endswith("ies"):
        forms.add(word[:-3] + "y")
    if len(word) > 3 and word.endswith("es"):
        forms.add(word[:-2])
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        forms.add(word[:-1])
    return forms


class _Matcher:
    """Finds which targets (topic keys, opinion subjects) a tokenised line names."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.single: dict[str, list[str]] = {}
        self.multi: list[tuple[str, str]] = []
        self.order: dict[str, int] = {}
        for keyword, target in pairs:
            self.order.setdefault(target, len(self.order))
            words = _tokens(keyword)
            if not words:
                continue
            if len(words) == 1:
                for form in _forms(words[0]):
                    self.single.setdefault(form, [])
                    if target not in self.single[form]:
                        self.single[form].append(target)
            else:
                head = " ".join(words[:-1])
                for form in _forms(words[-1]):
                    self.multi.append((f" {head} {form} ", target))

    def find(self, tokens: Sequence[str]) -> list[str]:
        counts: dict[str, int] = {}
        for tok in tokens:
            for target in self.single.get(tok, ()):
                counts[target] = counts.get(target, 0) + 1
        if self.multi:
            padded = " " + " ".join(tokens) + " "
            for phrase, target in self.multi:
                if phrase in padded:
                    counts[target] = counts.get(target, 0) + 2
        return sorted(counts, key=lambda t: (-counts[t], self.order[t]))


@dataclass(frozen=True)
class _Index:
    topics: _Matcher
    opinions: _Matcher
    phrases: Mapping[str, tuple[str, str]]
    """keyword → (determiner, word) as the persona's own lines say it ("my", "forge")."""

    def subject(self, keyword: str, *, said_by_player: bool) -> str:
        """How to name a keyword in a sentence: with the determiner the persona's lines use
        ("my forge" in the NPC's mouth is "your forge" in the player's), else the bare word."""
        kw = keyword.replace("_", " ").lower()
        if kw not in self.phrases:
            return kw
        det, word = self.phrases[kw]
        if said_by_player:
            det = {"my": "your", "our": "your", "your": "my"}.get(det, det)
        return f"{det} {word}" if det else word


_INDEX_CACHE: dict[int, tuple[Persona, _Index]] = {}
_INDEX_CACHE_MAX = 256


def _index(persona: Persona) -> _Index:
    """Per-persona matchers, cached by identity (personas are immutable once loaded)."""
    hit = _INDEX_CACHE.get(id(persona))
    if hit is not None and hit[0] is persona:
        return hit[1]
    topic_pairs = [(k, key) for key, topic in persona.topics.items() for k in (key, *topic.keywords)]
    topic_pairs = [(k.replace("_", " "), key) for k, key in topic_pairs]
    opinion_pairs = [(subject, subject) for subject in persona.opinions]
    texts = " ".join(
        [line for t in persona.topics.values() for line in t.lines]
        + list(persona.facts) + list(persona.opinions.values())
    )
    phrases: dict[str, tuple[str, str]] = {}
    words = {kw for kw, _ in topic_pairs} | set(persona.opinions)
    everything = " ".join([texts, *persona.fallbacks, *persona.greetings, *persona.farewells,
                           persona.bio])
    for kw in words:
        m = re.search(r"\b(the|my|our|your)\s+(" + re.escape(kw) + r")\b", texts, re.IGNORECASE)
        if m:
            phrases[kw.lower()] = (m.group(1).lower(), m.group(2) if kw.islower() and
                                   m.group(2)[0].isupper() else m.group(2).lower())
            continue
        # A capitalised word mid-sentence is a name ("ask Sorrel"): say it that way, bare.
        proper = re.search(r"(?<=[\w,;] )(" + re.escape(kw.capitalize()) + r")\b", everything)
        if proper and kw.islower():
            phrases[kw.lower()] = ("", proper.group(1))
    index = _Index(_Matcher(topic_pairs), _Matcher(opinion_pairs), phrases)
    if len(_INDEX_CACHE) >= _INDEX_CACHE_MAX:
        _INDEX_CACHE.clear()
    _INDEX_CACHE[id(persona)] = (persona, index)
    return index


# --------------------------------------------------------------------------------------------
# Memory: the engine's part of the conversation state (sidecar/engine/state.py), as a mutable
# working copy for the length of one call.
# --------------------------------------------------------------------------------------------


@dataclass
class _Memory:
    name: str | None = None
    likes: list[Preference] = field(default_factory=list)
    dislikes: list[Preference] = field(default_factory=list)
    recalled: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    cores: list[str] = field(default_factory=list)
    topics: dict[str, int] = field(default_factory=dict)
    asked_name: bool = False
    quirk_turn: int = -10
    hook_turn: int = -10

    @classmethod
    def load(cls, m: EngineMemory) -> _Memory:
        return cls(
            name=m.player_name, likes=list(m.likes), dislikes=list(m.dislikes),
            recalled=list(m.recalled), said=list(m.said), cores=list(m.cores),
            topics=dict(m.topics), asked_name=m.asked_name, quirk_turn=m.quirk_turn,
            hook_turn=m.hook_turn,
        )

    def copy(self) -> _Memory:
        return _Memory(
            name=self.name, likes=list(self.likes), dislikes=list(self.dislikes),
            recalled=list(self.recalled), said=list(self.said), cores=list(self.cores),
            topics=dict(self.topics), asked_name=self.asked_name, quirk_turn=self.quirk_turn,
            hook_turn=self.hook_turn,
        )

    def freeze(self) -> EngineMemory:
        """The memory to store, trimmed to what the rules look back on."""
        return EngineMemory(
            player_name=self.name,
            likes=tuple(self.likes[-_LIKES_KEEP:]),
            dislikes=tuple(self.dislikes[-_LIKES_KEEP:]),
            recalled=tuple(self.recalled[-_LIKES_KEEP * 2:]),
            said=tuple(self.said[-_SAID_KEEP:]),
            cores=tuple(self.cores[-_CORES_KEEP:]),
            topics=MappingProxyType(dict(self.topics)),
            asked_name=self.asked_name,
            quirk_turn=self.quirk_turn,
            hook_turn=self.hook_turn,
        )

    def learn_like(self, verb: str, what: str, turn: int, *, dislike: bool) -> None:
        bucket, other = (self.dislikes, self.likes) if dislike else (self.likes, self.dislikes)
        for lst in (bucket, other):
            lst[:] = [x for x in lst if x.what != what]
        bucket.append(Preference(what, verb, turn))
        if what in self.recalled:
            self.recalled.remove(what)

    def note_said(self, text: str) -> None:
        self.said.append(normalize(text))
        del self.said[:-_SAID_KEEP]

    def note_core(self, key: str) -> None:
        if key in self.cores:
            self.cores.remove(key)
        self.cores.append(key)
        del self.cores[:-_CORES_KEEP]


# --------------------------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------------------------


def _fill(template: str, addr: str = "", **values: str) -> str:
    if addr:
        values["addr"] = addr
    else:
        template = re.sub(r",?\s*\{addr\}", "", template)
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def _clean(text: str) -> str:
    """One tidy line: single spaces, no space before punctuation, capitalised, ends with
    punctuation. Never returns an empty string for non-blank input."""
    t = text.replace("...", "…")
    t = re.sub(r"\s+", " ", t).strip()
    t = re.sub(r"\s+([,.;:!?…])", r"\1", t)
    t = re.sub(r",+([.!?…])", r"\1", t)
    t = re.sub(r"([!?])\.+", r"\1", t)
    t = re.sub(r"…\.+", "…", t)
    t = re.sub(r"\.{2,}", "…", t)
    t = re.sub(r"^[,;:\s]+", "", t)
    t = re.sub(r"([.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), t)
    for i, ch in enumerate(t):
        if ch.isalpha():
            if ch.islower() and (i == 0 or not t[:i].strip("\"'“‘(—-¡¿ ")):
                t = t[:i] + ch.upper() + t[i + 1:]
            break
    if t and not re.search(r"(?:[.!?…][\"'”’)\]»]*|\*)$", t):
        t = t.rstrip(",;:—- ") + "."
    return t


def _limit_bangs(text: str, keep: int = 3) -> str:
    """No exclamation spam: after `keep` of them, "!" becomes "."."""
    if text.count("!") <= keep:
        return text
    out: list[str] = []
    seen = 0
    for ch in text:
        if ch == "!":
            seen += 1
            if seen > keep:
                ch = "" if out and out[-1] in "?.…" else "."
        out.append(ch)
    return "".join(out)


def _end_with(sentence: str, mark: str) -> str:
    """Swap a sentence's final full stop for `mark` ("!" or "…"); other endings stay."""
    s = sentence.rstrip()
    if s.endswith(".") and not s.endswith("…"):
        return s[:-1] + mark
    return s


def _render(line: str, npc: str, player: str) -> str:
    return _PLACEHOLDER.sub(lambda m: player if m.group(1) == "player" else npc, line)


def _name_like(player: str) -> bool:
    p = player.strip()
    return bool(_NAME_LIKE.match(p)) and p[0].isupper() and p.lower() not in {"player", "you"}




@dataclass
class _Draft:
    """The parts of one reply, in speaking order."""

    opener: str = ""
    reaction: str = ""
    ack: str = ""
    core: str = ""
    extras: list[str] = field(default_factory=list)
    aside: str = ""
    question: str = ""
    lead: str = ""
    """A standalone speech quirk said first."""
    tail: str = ""
    """A standalone quirk or catchphrase said last."""
    max_chars: int = 10_000
    """The preset's length budget: optional parts are dropped until the line fits."""

    def _join(self) -> str:
        parts = [self.lead, self.opener, self.reaction, self.ack, self.core, *self.extras,
                 self.aside, self.question, self.tail]
        return _limit_bangs(_clean(" ".join(p for p in parts if p)))

    def text(self) -> str:
        text = self._join()
        while len(text) > self.max_chars:
            if self.tail:
                self.tail = ""
            elif self.lead:
                self.lead = ""
            elif self.question:
                self.question = ""
            elif self.aside:
                self.aside = ""
            elif self.extras:
                self.extras.pop()
            else:
                break  # the core (and the reaction to the player's tone) always stay
            text = self._join()
        return text


class _Turn:
    """One engine call: the context, tuning, memory and the no-repeat window."""

    def __init__(self, ctx: TurnContext, purpose: str) -> None:
        self.ctx = ctx
        self.persona = ctx.persona
        self.purpose = purpose
        self.tuning: Tuning = tune(ctx.persona, ctx.affinity)
        self.voice = self.tuning.voice if self.tuning.voice in VOICES else "outgoing"
        self.knobs = self.tuning.knobs
        # Within 90% of the preset's budget, as the quality gate estimates it.
        self.max_chars = int(chars_for_tokens(self.tuning.max_tokens) * 0.9)
        self.mem = _Memory.load(ctx.state.engine)
        self.ph = phrases_for(ctx.persona)
        own = [normalize(line.text) for line in ctx.history if line.speaker == ctx.persona.id]
        self.recent: set[str] = set(own[-NO_REPEAT_WINDOW:]) | set(self.mem.said[-NO_REPEAT_WINDOW:])
        self.recent.discard("")

    # -- helpers -----------------------------------------------------------------------------

    def rng(self, attempt: int) -> random.Random:
        return reseed(self.ctx.seed, self.ctx.turn, self.persona.id, self.purpose, attempt)

    def name_for_addressing(self, mem: _Memory) -> str:
        if mem.name:
            return mem.name
        return self.ctx.player.strip() if _name_like(self.ctx.player) else ""

    def player_word(self, mem: _Memory) -> str:
        return self.name_for_addressing(mem) or "traveller"

    def fill(self, template: str, mem: _Memory, addr: str = "", **values: str) -> str:
        return _fill(template, addr, npc=self.persona.name, role=self.persona.role,
                     pname=mem.name or "", **values)

    def render(self, line: str, mem: _Memory) -> str:
        return _render(line, self.persona.name, self.player_word(mem))

    def pick(self, rng: random.Random, choices: Sequence[str], mem: _Memory | None = None,
             addr: str = "", **values: str) -> str:
        """A bank phrase (filled in, when `mem` is given), preferring ones not heard in the
        recent window."""
        filled = [self.fill(c, mem, addr, **values) for c in choices] if mem is not None else list(choices)
        fresh = [c for c in filled if not any(normalize(c) in said for said in self.recent)]
        return rng.choice(fresh or filled)

    def said_recently(self, text: str) -> bool:
        """Whether `text` was part of one of the NPC's lines in the no-repeat window."""
        key = f" {normalize(text)} "
        return key.strip() != "" and any(key in f" {said} " for said in self.recent)

    def pick_line(self, rng: random.Random, lines: Sequence[str], mem: _Memory) -> str:
        """A persona line (rendered), rotating: unused lines first, else the least recently
        used; a line said within the window only when nothing else is left."""
        return self.pick_fresh_line(rng, lines, mem, allow_recent=True) or ""

    def pick_fresh_line(self, rng: random.Random, lines: Sequence[str], mem: _Memory, *,
                        allow_recent: bool = False) -> str | None:
        """Like `pick_line`, but None when every line was said within the window: repeating
        the core makes the whole reply a near-repeat (which the quality gate refuses)."""
        if not lines:
            return None
        rendered = [self.render(line, mem) for line in lines]
        keys = [normalize(r) for r in rendered]
        recent = [self.said_recently(r) for r in rendered]
        fresh = [r for r, k, rec in zip(rendered, keys, recent, strict=True)
                 if k not in mem.cores and not rec]
        if fresh:
            choice = rng.choice(fresh)
        elif allow_recent or not all(recent):
            order = {k: i for i, k in enumerate(mem.cores)}
            choice = min(zip(rendered, keys, recent, strict=True),
                         key=lambda rkr: (rkr[2], order.get(rkr[1], -1)))[0]
        else:
            return None
        mem.note_core(normalize(choice))
        return choice

    def finish(self, draft_for: Callable[[random.Random, _Memory], tuple[str, _T]], *,
               notes: list[str]) -> tuple[str, _Memory, _T]:
        """Run `draft_for(rng, mem)` (each attempt with its own rng and a copy of memory)
        until a line outside the no-repeat window comes out; if every attempt collides, change
        the subject with a line that is not in the window."""
        last: tuple[str, _Memory, _T] | None = None
        for attempt in range(_ATTEMPTS):
            rng = self.rng(attempt)
            mem = self.mem.copy()
            text, extra = draft_for(rng, mem)
            last = (text, mem, extra)
            if normalize(text) not in self.recent and text:
                break
        else:
            # Every wording collided: say something new instead. There are more of these
            # lines than the window holds, so one of them is always fresh.
            assert last is not None
            text, mem, extra = last
            rng = self.rng(_ATTEMPTS)
            for candidate in rng.sample(self.ph("change_subject"), len(self.ph("change_subject"))):
                if normalize(candidate) not in self.recent:
                    text = candidate
                    notes.append("changed_subject")
                    break
            last = (text, mem, extra)
        text, mem, extra = last
        mem.note_said(text)
        return text, mem, extra

    def sprinkle(self, rng: random.Random, draft: _Draft, mem: _Memory) -> None:
        """At most one speech quirk or catchphrase, and not on consecutive turns.

        Quirks come in several shapes, each placed where it reads naturally: an action
        ("*winks*") or a sentence ("Hm.") stands alone; "…if that's alright." trails the core;
        "(as it happens)" and "— that rhymes —" are tucked in before its final stop; a lead-in
        ("Strictly speaking,") opens it; a tag ("darling") closes it after a comma.
        """
        speech = self.persona.speech
        if self.ctx.turn - mem.quirk_turn < 2 or rng.random() >= self.knobs.quirk_rate:
            return
        pool = [*speech.quirks, *speech.catchphrases]
        if not pool or not draft.core:
            return
        phrase = self.render(self.pick(rng, pool).strip(), mem)
        catchphrase = phrase in speech.catchphrases
        core = draft.core.rstrip()
        end = core[-1] if core[-1] in ".!?…" else "."
        body = core[:-1] if core[-1] in ".!?…" else core
        if catchphrase or phrase.startswith("*") or (
            re.search(r"[.!?…]$", phrase) and not phrase.startswith("…")
        ):
            if not catchphrase and not draft.opener and rng.random() < 0.5:
                draft.lead = phrase
            else:
                draft.tail = phrase
        elif phrase.startswith("…"):
            if end != ".":
                return
            draft.core = body + phrase
        elif phrase.startswith("("):
            draft.core = f"{body} {phrase}{end}"
        elif phrase.startswith(("—", "-")):
            draft.core = f"{body} — {phrase.strip('—- ')}{end}"
        elif phrase.endswith(","):
            first = core.split(" ", 1)[0]
            if first.lower().strip(",") not in _SAFE_TO_LOWER:
                return
            draft.core = f"{phrase} {first.lower()}{core[len(first):]}"
        else:
            draft.core = f"{body}, {phrase}{end}"
        mem.quirk_turn = self.ctx.turn

    def shape(self, rng: random.Random, draft: _Draft) -> None:
        """The voice's signature, always visible: shy hesitates, sarcastic is dry."""
        k = self.knobs
        if self.voice == "shy":
            already = "…" in draft.reaction + draft.ack + draft.core
            chance = k.hesitation * (0.3 if already else 1.0)
            if rng.random() < chance or not (already or draft.core.endswith(".")):
                draft.opener = rng.choice(self.ph("hesitations"))
            elif not already:
                draft.core = _end_with(draft.core, "…")
        elif self.voice == "sarcastic":
            if not draft.aside and not draft.reaction:
                draft.opener = self.pick(rng, self.ph("dry_openers"))
        elif self.voice == "outgoing":
            if rng.random() < k.exclamation:
                draft.core = _end_with(draft.core, "!")
            if rng.random() < k.exclamation * 0.4 and not draft.reaction:
                draft.opener = rng.choice(self.ph("bright_openers"))
        elif self.voice == "intellectual":
            if not draft.aside and rng.random() < 0.4:
                draft.opener = self.pick(rng, self.ph("measured_openers"))


def _words(parts: Sequence[str]) -> int:
    return sum(len(p.split()) for p in parts if p)


class EmbeddedEngine:
    """The offline, deterministic provider. Stateless: all state travels in `ctx.state.engine`.

    Every method is a pure function of its arguments (same context → same result) and never
    raises for any player text; a persona that passed validation is all it needs.
    """

    name = "embedded"

    # -- greeting and farewell --------------------------------------------------------------

    def greet(self, ctx: TurnContext) -> Composed:
        """The NPC's opening line: a persona greeting, colder below affinity 20 and warmer
        above 80."""
        turn = _Turn(ctx, "greet")
        notes = ["greeting", f"voice:{turn.voice}", f"band:{turn.tuning.band}"]

        def draft(rng: random.Random, mem: _Memory) -> tuple[str, None]:
            d = _Draft(core=turn.pick_line(rng, ctx.persona.greetings, mem),
                       max_chars=turn.max_chars)
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
        turn = _Turn(ctx, "farewell")
        notes = ["farewell", f"voice:{turn.voice}"]
        text, mem, _ = turn.finish(
            lambda rng, mem: (self._goodbye(turn, rng, mem, "neutral").text(), None), notes=notes
        )
        return Composed(text=text, memory=mem.freeze(), ending=True, notes=tuple(notes))

    def _goodbye(self, turn: _Turn, rng: random.Random, mem: _Memory, tone_: Tone) -> _Draft:
        d = _Draft(core=turn.pick_line(rng, turn.persona.farewells, mem), max_chars=turn.max_chars)
        band = turn.tuning.band
        addr = turn.name_for_addressing(mem)
        if tone_ != "neutral" and band != "close":
            d.reaction = self._reaction(turn, rng, mem, tone_, addr)
        if band in _FAREWELL_BANDS and rng.random() < 0.6:
            d.tail = turn.pick(rng, turn.ph("farewell_tails", band), mem, addr)
        return d

    # -- reply -------------------------------------------------------------------------------

    def reply(self, ctx: TurnContext, player_text: str, sentiment: Sentiment) -> Composed:
        """Answer one player line in character. Learns the player's name, likes and dislikes
        into memory; `ending=True` when the player said goodbye. Never raises."""
        turn = _Turn(ctx, "reply")
        heard = read(player_text, sentiment)
        tone_ = heard.tone
        notes = [f"voice:{turn.voice}", f"band:{turn.tuning.band}", f"tone:{tone_}"]
        new_name = heard.name if heard.name and heard.name != turn.mem.name else None
        notes.extend(_learn(turn.mem, heard, ctx.turn))

        if heard.goodbye:
            notes.append("goodbye")
            text, mem, _ = turn.finish(
                lambda rng, mem: (self._goodbye(turn, rng, mem, tone_).text(), None), notes=notes
            )
            return Composed(text=text, memory=mem.freeze(), ending=True, notes=tuple(notes))

        def draft(rng: random.Random, mem: _Memory) -> tuple[str, tuple[str | None, list[str]]]:
            d, topic, why = self._draft_reply(turn, rng, mem, heard, tone_, new_name)
            return d.text(), (topic, why)

        text, mem, (topic, why) = turn.finish(draft, notes=notes)
        notes.extend(why)
        return Composed(text=text, memory=mem.freeze(), topic=topic, notes=tuple(notes))

    def observe(self, ctx: TurnContext, player_text: str, npc_text: str) -> Composed:
        """What the NPC remembers after a line it did not compose (a provider wrote
        `npc_text`): the player's name, likes and dislikes, the persona topic the player
        named (its count, and `topic`), and `npc_text` as said, for the no-repeat window.
        `ending` when the player said goodbye, as `reply` would. No composition, no rng: the
        cheap path for a turn whose line came from elsewhere. Never raises."""
        heard = read(player_text)
        mem = _Memory.load(ctx.state.engine)
        notes = ["observed", *_learn(mem, heard, ctx.turn)]
        topics = [] if heard.goodbye else _index(ctx.persona).topics.find(heard.tokens)
        topic = topics[0] if topics else None
        if topic is not None:
            mem.topics[topic] = mem.topics.get(topic, 0) + 1
            notes.append(f"topic:{topic}")
        mem.note_said(npc_text)
        return Composed(text=npc_text, memory=mem.freeze(), ending=heard.goodbye, topic=topic,
                        notes=tuple(notes))

    def _reaction(self, turn: _Turn, rng: random.Random, mem: _Memory, tone_: Tone,
                  addr: str) -> str:
        if tone_ == "neutral":
            return ""
        if turn.tuning.band == "guarded":
            return turn.pick(rng, turn.ph("guarded_react", tone_))
        return turn.pick(rng, turn.ph("react", turn.voice, tone_), mem, addr)

    def _pending_recall(self, turn: _Turn, mem: _Memory) -> tuple[Preference, bool] | None:
        """The oldest like/dislike learned on an earlier turn and not yet brought up."""
        for item, dislike in [(x, False) for x in mem.likes] + [(x, True) for x in mem.dislikes]:
            if item.what not in mem.recalled and item.turn < turn.ctx.turn:
                return item, dislike
        return None

    def _recall_text(self, turn: _Turn, rng: random.Random, mem: _Memory,
                     item: Preference, dislike: bool) -> str:
        mem.recalled.append(item.what)
        bank = "recall_dislike" if dislike else "recall"
        addr = turn.name_for_addressing(mem)
        return turn.pick(rng, turn.ph(bank, turn.voice), mem, addr,
                         verb=item.verb, like=item.what)

    def _draft_reply(
        self, turn: _Turn, rng: random.Random, mem: _Memory, heard: Reading, tone_: Tone,
        new_name: str | None,
    ) -> tuple[_Draft, str | None, list[str]]:
        persona, voice, knobs = turn.persona, turn.voice, turn.knobs
        index = _index(persona)
        why: list[str] = []
        addr_full = turn.name_for_addressing(mem)
        addr = addr_full if rng.random() < 0.6 else ""
        d = _Draft(max_chars=turn.max_chars)
        topic: str | None = None

        # What the player said about themself, acknowledged.
        if new_name:
            d.ack = turn.pick(rng, turn.ph("name_ack", voice), mem, addr)
        elif heard.likes:
            verb, what = heard.likes[-1]
            d.ack = turn.pick(rng, turn.ph("like_ack", voice), mem, addr, verb=verb, like=what)
        elif heard.dislikes:
            verb, what = heard.dislikes[-1]
            d.ack = turn.pick(rng, turn.ph("dislike_ack", voice), mem, addr, verb=verb, like=what)

        topics = index.topics.find(heard.tokens)
        opinions = index.opinions.find(heard.tokens)
        smalltalk = next(
            (kind for kind, hit in (("how", heard.how), ("sorry", heard.sorry),
                                     ("thanks", heard.thanks), ("hello", heard.greeting)) if hit),
            None,
        )
        pending = self._pending_recall(turn, mem)
        extras: list[str] = []
        small_core: str | None = None

        def again(text: str) -> str:
            """A bank answer said moments ago is not said again word for word."""
            return turn.pick(rng, turn.ph("again", voice), mem, addr) if turn.said_recently(text) else text

        def exhausted(subject: str) -> str:
            kw = index.subject(_said_keyword(persona, subject, heard.tokens),
                               said_by_player=False)
            hook = self._hook_keyword(turn, mem, index, besides=subject)
            if hook:
                extras.append(turn.pick(rng, turn.ph("hooks", voice), mem, addr, kw=hook))
            return turn.pick(rng, turn.ph("exhausted", voice), mem, addr, kw=kw)

        # The core: the one thing this reply is about.
        opinion = persona.opinions[opinions[0]] if opinions else None
        if heard.asks_name:
            bank = "name_known" if mem.name else "name_unknown"
            d.core = again(turn.pick(rng, turn.ph(bank, voice), mem, addr))
            why.append("core:memory:name")
        elif heard.asks_likes:
            d.core = again(self._likes_answer(turn, rng, mem, addr))
            why.append("core:memory:likes")
        elif opinion is not None and (heard.asks_opinion or not topics):
            opinion_line = turn.render(opinion, mem)
            d.core = exhausted(opinions[0]) if turn.said_recently(opinion_line) else opinion_line
            mem.note_core(normalize(opinion_line))
            why.append(f"core:opinion:{opinions[0]}")
        elif topics:
            topic = topics[0]
            picked = turn.pick_fresh_line(rng, persona.topics[topic].lines, mem)
            d.core = picked if picked is not None else exhausted(topic)
            mem.topics[topic] = mem.topics.get(topic, 0) + 1
            why.append(f"core:topic:{topic}")
            if opinion is not None and not turn.said_recently(turn.render(opinion, mem)):
                extras.append(turn.render(opinion, mem))
                why.append(f"opinion:{opinions[0]}")
        elif heard.asks_npc_name:
            # The role is said only when it holds none of the NPC's names ("the Captain"), or
            # the line would have the NPC speak of itself in the third person.
            role = persona.role.lower()
            third = any(re.search(rf"(?<!\w){re.escape(n.lower())}(?!\w)", role)
                        for n in persona.names)
            intro = turn.pick(rng, turn.ph("self_name", voice), mem, addr) + " " + turn.pick(
                rng, turn.ph("self_no_role" if third else "self_role", voice), mem, addr)
            d.core = again(intro)
            why.append("core:self:name")
        elif heard.asks_self:
            personal = [f for f in persona.facts if _FIRST_PERSON.search(f)]
            picked = (turn.pick_fresh_line(rng, personal, mem)
                      or turn.pick_fresh_line(rng, persona.facts, mem))
            d.core = picked if picked is not None else turn.pick(rng, turn.ph("no_facts"))
            why.append("core:fact" if picked is not None else "core:self:none")
        elif smalltalk:
            d.core = again(turn.pick(rng, turn.ph("smalltalk", voice, smalltalk), mem, addr))
            small_core, smalltalk = smalltalk, None
            why.append("core:smalltalk")
        elif pending is not None and not d.ack:
            d.core = self._recall_text(turn, rng, mem, *pending)
            pending = None
            why.append("core:recall")
        elif d.ack:
            d.core, d.ack = d.ack, ""
            why.append("core:ack")
        else:
            picked = turn.pick_fresh_line(rng, persona.fallbacks, mem)
            d.core = picked if picked is not None else turn.pick(rng, turn.ph("generic", voice))
            why.append("core:fallback")
            hook = self._hook_keyword(turn, mem, index)
            if hook and turn.ctx.turn - mem.hook_turn >= _HOOK_EVERY and rng.random() < 0.6:
                extras.append(turn.pick(rng, turn.ph("hooks", voice), mem, addr, kw=hook))
                mem.hook_turn = turn.ctx.turn

        # Reaction: small talk beside another core, else the player's tone (always shown).
        if smalltalk:
            d.reaction = turn.pick(rng, turn.ph("smalltalk", voice, smalltalk), mem, addr)
        elif heard.affection and turn.tuning.band != "guarded" and voice == "flirty":
            d.reaction = turn.pick(rng, turn.ph("affection_flirty"))
        elif small_core in {"thanks", "sorry"}:
            pass  # the small talk already answers the thanks or the apology
        elif (tone_ == "rude" and not heard.sorry
              and (heard.addressed or not (heard.likes or heard.dislikes))) or (
                tone_ == "friendly" and heard.addressed and not d.ack):
            # Kind words about fishing are no compliment to the NPC, and hating rain is no
            # insult: a reaction needs the line to be aimed at the NPC (rudeness may also be
            # about the place), and an apology is not answered as rudeness.
            d.reaction = self._reaction(turn, rng, mem, tone_, addr)

        # Extras, within the voice's budget of parts and words.
        if pending is not None and turn.ctx.turn - pending[0].turn >= 2:
            extras.insert(0, self._recall_text(turn, rng, mem, *pending))
            why.append("recall")
        if tone_ == "friendly" and turn.tuning.band == "close" and rng.random() < 0.5:
            extras.append(turn.pick(rng, turn.ph("close_warm"), mem, addr))
        if topic and persona.facts and rng.random() < (0.35 if voice == "outgoing" else 0.1):
            fact = turn.pick_fresh_line(rng, persona.facts, mem)
            if fact is not None:
                extras.append(fact)
        budget = knobs.max_parts
        kept: list[str] = []
        for extra in extras:
            if budget <= 0 or _words([d.reaction, d.ack, d.core, *kept]) >= knobs.target_words:
                break
            kept.append(extra)
            budget -= 1
        d.extras = kept

        signature = {"sarcastic": knobs.sarcasm, "intellectual": knobs.qualifying,
                     "flirty": knobs.playfulness, "outgoing": knobs.exclamation * 0.4,
                     "shy": 0.15}[voice]
        substantive = any(w.startswith(("core:topic", "core:opinion", "core:fact", "core:fallback",
                                        "core:recall", "core:self")) for w in why)
        if budget > 0 and substantive and rng.random() < signature:
            d.aside = turn.pick(rng, turn.ph("asides", voice), mem, addr)
            budget -= 1
        if budget > 0 and not heard.asks_name and not heard.asks_likes:
            if (not mem.name and not mem.asked_name and turn.ctx.turn >= 2
                    and turn.tuning.band != "guarded" and rng.random() < 0.5):
                d.question = turn.pick(rng, turn.ph("ask_name", voice))
                mem.asked_name = True
            elif rng.random() < knobs.asks_back:
                d.question = turn.pick(rng, turn.ph("questions", voice), mem, addr)

        if len(d.text()) < _MIN_CHARS and not d.question:
            d.question = turn.pick(rng, turn.ph("questions", voice), mem, addr)
        turn.shape(rng, d)
        turn.sprinkle(rng, d, mem)
        return d, topic, why

    def _likes_answer(self, turn: _Turn, rng: random.Random, mem: _Memory, addr: str) -> str:
        if not mem.likes and not mem.dislikes:
            return turn.pick(rng, turn.ph("likes_unknown", turn.voice))
        said = []
        if mem.likes:
            said.append(_join([f"{x.verb} {x.what}" for x in mem.likes[-3:]]))
        if mem.dislikes:
            said.append(_join([f"{x.verb} {x.what}" for x in mem.dislikes[-2:]]))
        lead = turn.ph("likes_lead", turn.voice)[0]
        for x in mem.likes + mem.dislikes:
            if x.what not in mem.recalled:
                mem.recalled.append(x.what)
        return turn.fill(f"{lead} {', and you '.join(said)}, {{addr}}.", mem, addr)

    # -- answer options ----------------------------------------------------------------------

    def options(self, ctx: TurnContext, npc_line: str, last_player_line: str | None) -> list[Option]:
        """Three answer options for the player, intents `ask`, `share`, `leave` in that order:
        5–10 words each, distinct from each other and from `last_player_line`, built from the
        persona's topics and opinions, the NPC's line and what the player shared. Every
        `leave` option is one `reply` recognises as a goodbye. Never raises."""
        return _options(_Turn(ctx, "options"), npc_line, last_player_line)

    def _hook_keyword(self, turn: _Turn, mem: _Memory, index: _Index,
                      besides: str | None = None) -> str | None:
        """A topic the player has not asked about yet, to steer the talk somewhere new."""
        for key in turn.persona.topics:
            if key not in mem.topics and key != besides:
                return index.subject(key, said_by_player=False)
        return None


def _learn(mem: _Memory, heard: Reading, turn: int) -> list[str]:
    """Remember what the player said about themself; the notes say what was learned."""
    notes = []
    if heard.name:
        mem.name = heard.name
        notes.append(f"learned:name:{heard.name}")
    for verb, what in heard.likes:
        mem.learn_like(verb, what, turn, dislike=False)
        notes.append(f"learned:likes:{what}")
    for verb, what in heard.dislikes:
        mem.learn_like(verb, what, turn, dislike=True)
        notes.append(f"learned:dislikes:{what}")
    return notes


def _said_keyword(persona: Persona, subject: str, tokens: Sequence[str]) -> str:
    """The keyword of topic (or opinion subject) `subject` that the player actually used."""
    topic = persona.topics.get(subject)
    if topic is None:
        return subject
    padded = " " + " ".join(tokens) + " "
    for kw in sorted(topic.keywords, key=len, reverse=True):
        words = _tokens(kw)
        if words and any(f" {' '.join([*words[:-1], form])} " in padded for form in _forms(words[-1])):
            return kw
    return subject


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]




def _option_ok(text: str) -> bool:
    return OPTION_WORDS[0] <= len(text.split()) <= OPTION_WORDS[1]


def _options(engine_turn: _Turn, npc_line: str, last_player_line: str | None) -> list[Option]:
    turn = engine_turn
    persona, mem = turn.persona, turn.mem
    rng = turn.rng(0)
    index = _index(persona)
    line_tokens = _tokens(npc_line)

    def phrase(topic_key: str) -> str:
        words = set(line_tokens)
        topic = persona.topics[topic_key]
        kw = next((k for k in topic.keywords if k in index.phrases and _forms(k) & words), None)
        return index.subject(kw or topic_key, said_by_player=True)

    # The context is the one the reply was composed from, so what the player said in their
    # last line (their name, a like, a topic) is heard again here.
    heard = read(last_player_line) if last_player_line else None
    name_known = bool(mem.name or (heard and heard.name))
    likes = [x.what for x in mem.likes] + ([w for _, w in heard.likes] if heard else [])
    asked = set(mem.topics) | set(index.topics.find(heard.tokens) if heard else ())
    mentioned = index.topics.find(line_tokens)
    fresh = [k for k in persona.topics if k not in asked and k not in mentioned]
    subjects = [phrase(k) for k in mentioned[:1]] + [phrase(k) for k in fresh[:2]]
    voiced = {k for k in persona.opinions if normalize(persona.opinions[k]) in mem.cores}
    opinion_subjects = [s for s in persona.opinions if s not in voiced]

    taken: set[str] = set()
    if last_player_line:
        taken.add(normalize(last_player_line))

    def choose(candidates: list[str], fallback: Sequence[str]) -> str:
        shuffled_fallback = list(fallback)
        rng.shuffle(shuffled_fallback)
        for text in [*candidates, *shuffled_fallback]:
            text = _clean(text)
            key = normalize(text)
            if _option_ok(text) and key not in taken:
                taken.add(key)
                return text
        raise AssertionError("option banks exhausted")  # banks are larger than `taken` can be

    ask_candidates: list[str] = []
    for s in subjects[:2]:
        ask_candidates.append(rng.choice(turn.ph("ask_subject")).replace("{s}", s))
    if opinion_subjects and rng.random() < 0.5:
        about = index.subject(rng.choice(opinion_subjects), said_by_player=True)
        ask_candidates.insert(rng.randrange(len(ask_candidates) + 1),
                              rng.choice(turn.ph("ask_opinion")).replace("{s}", about))
    if turn.tuning.band == "guarded" and rng.random() < 0.6:
        ask_candidates.insert(0, rng.choice(turn.ph("ask_guarded")))

    share_candidates: list[str] = []
    if turn.tuning.band == "guarded":
        share_candidates.append(rng.choice(turn.ph("share_sorry")))
    if not name_known and _name_like(turn.ctx.player):
        share_candidates.append(turn.ph("share_name")[0].replace("{s}", turn.ctx.player.strip()))
    if likes and rng.random() < 0.5:
        share_candidates.append(rng.choice(turn.ph("share_like")).replace("{s}", likes[-1]))
    if subjects and rng.random() < 0.6:
        share_candidates.append(rng.choice(turn.ph("share_subject")).replace("{s}", subjects[0]))

    leave_bank = list(turn.ph("leave"))
    rng.shuffle(leave_bank)
    return [
        Option(choose(ask_candidates, turn.ph("ask_generic")), "ask"),
        Option(choose(share_candidates, turn.ph("share_generic")), "share"),
        Option(choose([], leave_bank), "leave"),
    ]


__all__ = ["MAX_PARSED_CHARS", "NO_REPEAT_WINDOW", "OPTION_WORDS", "EmbeddedEngine", "normalize"]
