"""Answer options (seed §2): parse what an LLM offered, then settle on exactly three.

An LLM is asked for three short replies the player could say next — a follow-up question
(`ask`), a personal share (`share`), a topic change or exit (`leave`) — with `OPTIONS_SCHEMA`
where the provider supports structured output, else with the strict line format of
`options_prompt()`. Small models ignore both often (see ARCHITECTURE.md), so `parse()` reads
anything: JSON (an `{"options": [...]}` object or a bare list, fenced or inside prose),
numbered (`1.` `1)` `(1)`), bulleted (`-` `*` `•`), quoted, labelled (`Question:`,
`Share:`), one-line lists, too many, too few, duplicated, empty and over-long entries.
`finalize()` then always returns three distinct options, topped up from the embedded engine's
own composition (`fallback`, made by `embedded()` here) and, as a last resort, from generic
in-voice lines.

This module is the one home of answer options: the embedded engine's (`embedded`, which
`EmbeddedEngine.options` returns), the parsing of a provider's, and the final three.

The seed's parser (`opt.strip('123.-) ')`) ate digits and dashes from both ends of every
option ("Give me 10" became "Give me ") and kept preamble lines as options.

Pure and deterministic: no I/O.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sidecar.engine.compose.call import Call
from sidecar.engine.compose.index import as_player_says, forms, index_for, person
from sidecar.engine.compose.sentence import clean, name_like
from sidecar.engine.data import phrase_lists, read_toml, word_list
from sidecar.engine.phrases import OPTION_WORDS
from sidecar.engine.quality import breaks_character
from sidecar.engine.reading import read
from sidecar.engine.text import normalize, tokens
from sidecar.engine.types import Option, TurnContext
from sidecar.errors import ConfigError
from sidecar.personas.model import Persona

INTENTS = ("ask", "share", "leave")
MAX_WORDS = 10
"""Options are 5–10 words (seed); longer ones are trimmed at a word boundary."""
DROP_WORDS = 24
"""A candidate this long with no sentence end in its first `MAX_WORDS` words is prose: drop."""
MAX_CHARS = 120
MAX_INPUT_CHARS = 8_000
"""Parser input beyond this is ignored (a runaway completion is not worth reading)."""

OPTIONS_SCHEMA_NAME = "answer_options"
OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "options": {
            "type": "array",
            "description": "Exactly three replies: one ask, one share, one leave.",
            "items": {
                "type": "object",
                "properties": {
                    "text": {
                        "type": "string",
                        "description": "What the player says, 5 to 10 words.",
                    },
                    "intent": {"type": "string", "enum": list(INTENTS)},
                },
                "required": ["text", "intent"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["options"],
    "additionalProperties": False,
}
"""JSON Schema for structured output. Kept inside the subset every provider's strict mode
accepts (all fields required, no additional properties, no length or count constraints):
counts and lengths are enforced by `finalize()`. Treat as read-only; deep-copy to modify."""

# --- intents --------------------------------------------------------------------------------

def _syn_key(word: str) -> str:
    return re.sub(r"[\s_\-]+", " ", word.casefold()).strip()


_WORDS = read_toml("option_words.toml")
_SYNONYMS: dict[str, str] = {
    _syn_key(w): intent
    for intent, words in phrase_lists(_WORDS, "option_words.toml", "intents", INTENTS).items()
    for w in words
}
_IDENT = re.compile(r"^[a-z][a-z_]{1,19}$")


def normalize_intent(raw: object) -> str | None:
    """Map a provider's intent word to ours: synonyms to ask/share/leave, other clean
    identifiers ("flirt", "topic") kept as-is, anything else None."""
    if not isinstance(raw, str):
        return None
    word = _syn_key(raw)
    if word in _SYNONYMS:
        return _SYNONYMS[word]
    word = word.replace(" ", "_")
    return word if _IDENT.match(word) else None


_LEAVE = re.compile(
    r"\b(?:good\s*bye|bye|farewell|see\s+you|talk\s+later|catch\s+you\s+later|later\s+then"
    r"|until\s+next\s+time|take\s+care|(?:have|got|need|must|should|ought)\s+to\s+(?:go|leave)"
    r"|gotta\s+go|must\s+go|should\s+go|be\s+going|be\s+off|another\s+time|i'll\s+leave"
    r"|leave\s+you\s+to|let's\s+talk\s+about|change\s+the\s+subject|something\s+else"
    r"|moving\s+on|anyway)\b",
    re.IGNORECASE,
)
_ASK_START = re.compile(
    r"^(?:what|why|how|when|where|who|whom|whose|which|can|could|would|will|do|does|did|is"
    r"|are|was|were|have|has|should|may|might|tell\s+me|mind\s+if)\b",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=4096)
def infer_intent(text: str) -> str:
    """Guess an option's intent from its words: leave (goodbye / topic change) first, then ask
    (a question), else share. "Talk later?" is a leave, not a question."""
    plain = text.replace("\u2019", "'")
    if _LEAVE.search(plain):
        return "leave"
    if plain.rstrip().endswith("?") or _ASK_START.match(plain.lstrip()):
        return "ask"
    return "share"


# --- cleaning -------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "\u00ab": "\u00bb", "`": "`"}
_ABBREVIATIONS = frozenset(word_list(_WORDS, "option_words.toml", "abbreviations"))
_DANGLING = frozenset(word_list(_WORDS, "option_words.toml", "dangling"))


def key(text: str) -> str:
    """Comparison key of an option: the one line key of the sidecar (`text.normalize`)."""
    return normalize(text)


_APOSTROPHE_QUOTES = frozenset("'\u2018`")


def _unquote(text: str) -> str:
    """Strip wrapping quotes. `"What happened?" she asks` keeps the quoted part; single quotes
    double as apostrophes ("'Tis", "'I'm fine'"), so they only count when they wrap it all."""
    for _ in range(3):
        if len(text) < 2 or text[0] not in _QUOTES:
            break
        close = _QUOTES[text[0]]
        if text[0] in _APOSTROPHE_QUOTES:
            if text[-1] not in (close, "'"):
                break
            text = text[1:-1].strip()
            continue
        end = text.find(close, 1)
        if end == -1:
            text = text[1:].strip()  # a lone opening quote
        elif end > 1:
            text = text[1:end].strip()
        else:
            break
    return text


@functools.lru_cache(maxsize=4096)
def clean_text(text: str) -> str | None:
    """One option's text, tidied and at most `MAX_WORDS` words; None if nothing usable.

    Cached (pure, and a turn cleans each option twice: as a candidate and as the fallback).

    Over-long text is cut at the first sentence end within `MAX_WORDS` words, else at
    `MAX_WORDS` words minus dangling connectives ("and", "the", ...); text longer than
    `DROP_WORDS` words with no early sentence end is prose, not an option, and is dropped.
    """
    text = _SPACES.sub(" ", _unquote(_SPACES.sub(" ", text).strip())).strip()
    if not any(ch.isalpha() for ch in text):
        return None
    words = text.split(" ")
    if len(words) > MAX_WORDS:
        cut = None
        for i, word in enumerate(words[:MAX_WORDS]):
            if word[-1:] in ".?!" and word.casefold() not in _ABBREVIATIONS:
                cut = i + 1
        if cut is not None:
            words = words[:cut]
        elif len(words) > DROP_WORDS:
            return None
        else:
            question = text.rstrip().endswith("?")
            words = words[:MAX_WORDS]
            while len(words) > 1 and words[-1].strip(",;:-\u2013\u2014").casefold() in _DANGLING:
                words.pop()
            words[-1] = words[-1].rstrip(",;:-\u2013\u2014") + ("?" if question else ".")
    text = " ".join(words)
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS].rsplit(" ", 1)[0]
    if not key(text):
        return None
    return text


# --- parsing --------------------------------------------------------------------------------

_FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)```", re.DOTALL)
_MARKER = re.compile(
    r"^\s*(?:[-*\u2022\u00b7\u2013\u2014+>]\s+|\u2022|\(\d{1,2}\)\s*|#?\d{1,2}[.):\]](?!\d)\s*"
    r"|(?:option|choice|response|reply|answer)\s*#?(?:\d{1,2}|[a-c]\b)\s*[.):\-\u2013]?\s*|[a-c][.)]\s+"
    r"|(?:player|you|me)\s*:\s*)",
    re.IGNORECASE,
)
_EMPHASIS = re.compile(r"^(?:\*\*|__|\*|_)(.+?)(?:\*\*|__|\*|_)(?=\s|:|$)")
_LABEL_WORDS = "|".join(
    sorted((r"[\s_\-]+".join(map(re.escape, w.split())) for w in _SYNONYMS), key=len, reverse=True)
)
_LABEL = re.compile(
    rf"^(?:[\[(]\s*(?P<bracketed>{_LABEL_WORDS})\s*[\])]\s*[:|\-\u2013\u2014]?"
    rf"|(?:\*\*|__)?\s*(?P<label>{_LABEL_WORDS})\s*(?:\*\*|__)?\s*[:|>\-\u2013\u2014])"
    rf"\s*(?:\*\*|__)?\s*",
    re.IGNORECASE,
)
_TAIL_TAG = re.compile(
    rf"\s*(?:[\[(](?P<a>{_LABEL_WORDS})[\])]|\s[|\u2013\u2014-]\s*(?P<b>ask|share|leave))\s*$",
    re.IGNORECASE,
)
_INLINE_NUMBERS = re.compile(r"(?:^|(?<=\s))\(?\d{1,2}[.)]\s+")
_PREAMBLE = re.compile(
    r"^(?:here\s+(?:are|is)\b|(?:answer\s+)?options?\s*:|responses?\s*:|replies\s*:"
    r"|the\s+player\s+(?:could|might|can)\b)",
    re.IGNORECASE,
)
_TEXT_KEYS = ("text", "option", "content", "label", "response", "reply", "message", "line")
_INTENT_KEYS = ("intent", "type", "kind", "category", "tag")
_LIST_KEYS = ("options", "choices", "responses", "replies", "answers", "answer_options")


def _from_json_value(value: Any, depth: int = 0) -> list[Option] | None:
    """Options from a decoded JSON value; None if it holds no list of options."""
    items: Any = None
    if depth > 3:
        return None
    if isinstance(value, list):
        items = value
    elif isinstance(value, Mapping):
        lowered = {str(k).casefold(): v for k, v in value.items()}
        for name in _LIST_KEYS:
            if isinstance(lowered.get(name), list):
                items = lowered[name]
                break
        else:
            lists = [v for v in value.values() if isinstance(v, list)]
            if len(lists) == 1:
                items = lists[0]
            elif any(isinstance(lowered.get(k), str) for k in _TEXT_KEYS):
                items = [value]
            else:
                for inner in value.values():
                    if isinstance(inner, Mapping) and (found := _from_json_value(inner, depth + 1)):
                        return found
    if not isinstance(items, list):
        return None
    out: list[Option] = []
    for item in items[:20]:
        raw_text: Any = None
        raw_intent: Any = None
        if isinstance(item, str):
            raw_text = item
        elif isinstance(item, Mapping):
            lowered = {str(k).casefold(): v for k, v in item.items()}
            raw_text = next((lowered[k] for k in _TEXT_KEYS if isinstance(lowered.get(k), str)), None)
            raw_intent = next((lowered[k] for k in _INTENT_KEYS if k in lowered), None)
        if not isinstance(raw_text, str):
            continue
        option = _line_option(raw_text, normalize_intent(raw_intent))
        if option is not None:
            out.append(option[0])
    return out


def _json_candidates(text: str) -> list[Option] | None:
    stripped = text.strip()
    try:
        return _from_json_value(json.loads(stripped)) or []
    except (ValueError, RecursionError):
        pass
    decoder = json.JSONDecoder()
    tried = 0
    for m in re.finditer(r"[{\[]", stripped):
        tried += 1
        if tried > 40:
            break
        try:
            value, _ = decoder.raw_decode(stripped, m.start())
        except (ValueError, RecursionError):
            continue
        found = _from_json_value(value)
        if found:
            return found
    return None


def _line_option(line: str, intent: str | None = None) -> tuple[Option, bool] | None:
    """Clean one line; returns the option and whether it carried a list marker or label."""
    text = line.strip()
    marked = False
    for _ in range(3):
        m = _MARKER.match(text)
        if not m or m.end() == 0:
            break
        text, marked = text[m.end() :].lstrip(), True
    if m := _EMPHASIS.match(text):
        if _LABEL.match(m.group(1) + ":") or m.end() == len(text):
            text = m.group(1) + text[m.end() :]
    for _ in range(2):
        if m := _LABEL.match(text):
            rest = text[m.end() :]
            if not rest.strip():
                break
            intent = intent or _SYNONYMS[_syn_key(m["label"] or m["bracketed"])]
            text, marked = rest, True
            if m2 := _MARKER.match(text):  # "Question: 1. ..." is rare but cheap to allow
                text = text[m2.end() :]
    if m := _TAIL_TAG.search(text):
        intent = intent or _SYNONYMS[_syn_key(m["a"] or m["b"])]
        text = text[: m.start()]
        marked = True
    if text[:1] in _QUOTES:
        marked = True
    cleaned = clean_text(text)
    if cleaned is None or breaks_character(cleaned):
        return None
    return Option(cleaned, intent or infer_intent(cleaned)), marked


def _text_candidates(text: str) -> list[Option]:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) == 1:
        parts = _INLINE_NUMBERS.split(lines[0])
        if len([p for p in parts if p.strip()]) >= 2:
            lines = [p for p in parts if p.strip()]
        elif " | " in lines[0]:
            lines = lines[0].split(" | ")
    parsed: list[tuple[Option, bool]] = []
    for raw in lines[:40]:
        stripped = raw.strip()
        if stripped.endswith(":") or _PREAMBLE.match(stripped.lstrip("*_# ")):
            continue
        if stripped.startswith(("```", "{", "}", "[", "]")) and len(stripped) <= 3:
            continue
        item = _line_option(stripped)
        if item is not None:
            parsed.append(item)
    if any(marked for _, marked in parsed):
        parsed = [(o, m) for o, m in parsed if m]  # unmarked lines are chatter around the list
    return [o for o, _ in parsed]


def parse(text: str) -> list[Option]:
    """Every usable option in an LLM's answer, in order, deduplicated; possibly empty.

    Never raises on any string: garbage gives []. Intents come from the JSON or a label where
    present, else from `infer_intent()`.
    """
    text = text[:MAX_INPUT_CHARS]
    if fenced := _FENCE.search(text):
        inner = fenced.group(1)
        found = _json_candidates(inner)
        if found:
            return dedupe(found)
        text = inner if inner.strip() else text
    found = _json_candidates(text)
    if found is not None and (found or text.strip().startswith(("{", "["))):
        return dedupe(found)
    return dedupe(_text_candidates(text))


def dedupe(options: Iterable[Option]) -> list[Option]:
    """Drop options whose `key()` repeats an earlier one (first wins)."""
    seen: set[str] = set()
    out: list[Option] = []
    for option in options:
        k = key(option.text)
        if k and k not in seen:
            seen.add(k)
            out.append(option)
    return out


# --- the final three ------------------------------------------------------------------------

def _reserve(data: Mapping[str, Any]) -> tuple[Option, ...]:
    """The reserve, one of each intent in turn (ask, share, leave, ask, …)."""
    lists = phrase_lists(data, "option_words.toml", "reserve", INTENTS, min_lines=3)
    rounds = itertools.zip_longest(*(lists[i] for i in INTENTS))
    out = tuple(Option(text, intent) for row in rounds for text, intent in zip(row, INTENTS, strict=True) if text)
    if len({key(o.text) for o in out}) != len(out):
        raise ConfigError("sidecar/data/option_words.toml: reserve: two lines are the same line")
    return out


RESERVE: tuple[Option, ...] = _reserve(_WORDS)
"""Generic last-resort options, used only when the candidates and fallback run out."""


def introduces(text: str) -> bool:
    """Whether an option has the player say their name ("I'm Ana, by the way")."""
    return read(text).name is not None


def finalize(
    candidates: Sequence[Option],
    *,
    last_player_line: str | None,
    fallback: Sequence[Option],
    avoid: Iterable[str] = (),
    introduce: bool = True,
) -> list[Option]:
    """Exactly three options, pairwise distinct by `key()`, none equal to the last player line.

    None repeats a text in `avoid` (the options of the last turns) either, while anything
    else is left; with `introduce=False` (the name is known, or such an option was offered
    already) none has the player introduce themself.

    Slots are filled in the order ask, share, leave: each slot takes the first candidate of its
    intent, else the first `fallback` option of its intent (the embedded engine's composition);
    slots still empty take the remaining candidates in order, then the remaining fallback,
    then `RESERVE`. Candidates and fallback are re-cleaned (≤ `MAX_WORDS` words), so any
    source may be passed in raw. `fallback` is not read at all when the candidates fill the
    three slots by intent. Never raises.
    """
    banned = {key(last_player_line)} if last_player_line else set()
    stale = {key(text) for text in avoid}
    used: set[str] = set()

    def usable(pool: Iterable[Option]) -> list[Option]:
        out: list[Option] = []
        for option in pool:
            text = clean_text(option.text)
            if text is not None and not breaks_character(text) and (introduce or not introduces(text)):
                intent = normalize_intent(option.intent) or infer_intent(text)
                out.append(Option(text, intent))
        return out

    cands = usable(candidates)
    backup_pool: list[Option] | None = None

    def backup() -> list[Option]:
        # Read only when a slot lacks a candidate: a lazy `fallback` (the pipeline's, on a
        # provider's line) is then never composed when the provider's options fill all three.
        nonlocal backup_pool
        if backup_pool is None:
            backup_pool = usable(fallback)
        return backup_pool

    def take(pool: list[Option], intent: str | None, *, fresh: bool = True) -> Option | None:
        for i, option in enumerate(pool):
            k = key(option.text)
            if k in used or k in banned or (fresh and k in stale):
                continue
            if intent is not None and option.intent != intent:
                continue
            used.add(k)
            return pool.pop(i)
        return None

    slots: list[Option | None] = []
    for intent in INTENTS:
        slots.append(take(cands, intent) or take(backup(), intent))
    reserve = list(RESERVE)
    for i, intent in enumerate(INTENTS):
        if slots[i] is None:
            slots[i] = (
                take(cands, None)
                or take(backup(), None)
                or take(reserve, intent)
                or take(reserve, None)
                # Everything left was offered lately: an old option beats no option.
                or take(cands, intent, fresh=False)
                or take(backup(), intent, fresh=False)
                or take(reserve, None, fresh=False)
            )
    result = [option for option in slots if option is not None]
    assert len(result) == 3  # RESERVE holds 9 distinct lines; at most 2 used + 1 banned
    return result


# --- the embedded engine's own options ----------------------------------------------------


_TITLED = re.compile(r"\b([A-Z][\w']*)(?=\s+[A-Z][a-z])")
"""A capitalised word followed by another: a title or the first word of a name."""
_OWNED = frozenset({"my", "our", "your"})
"""Determiners that make a keyword the NPC's own thing."""


class _TopicNames:
    """How the player names each of a persona's topics in an option, precomputed once per
    persona and set of neighbours (both immutable once loaded): the topic's own naming, and
    the keywords that may stand for it when the NPC just said one, each with its word forms
    and its naming. Options ask this for every topic on every turn."""

    def __init__(self, persona: Persona, neighbours: Sequence[Persona]) -> None:
        index = index_for(persona)
        self.own: dict[str, str] = {}
        self.keywords: dict[str, tuple[tuple[frozenset[str], str], ...]] = {}
        for key, topic in persona.topics.items():
            self.own[key] = as_player_says(key, persona, neighbours)
            # A keyword stands for its topic only when the persona's lines own it ("my
            # forge" -> "your forge") or it names someone.
            self.keywords[key] = tuple(
                (frozenset(forms(k)), as_player_says(k, persona, neighbours))
                for k in topic.keywords
                if k in index.phrases and (index.phrases[k][0] in _OWNED or person(k, persona, neighbours))
            )

    def phrase(self, topic_key: str, line_words: set[str]) -> str:
        """The topic as the player names it after an NPC line with these words."""
        return next((said for kw_forms, said in self.keywords[topic_key] if kw_forms & line_words), self.own[topic_key])


_TOPIC_NAMES: dict[tuple[int, ...], tuple[tuple[Persona, ...], _TopicNames]] = {}
_TOPIC_NAMES_MAX = 256


def _topic_names(persona: Persona, neighbours: Sequence[Persona]) -> _TopicNames:
    """Cached by the personas' identities; the entry holds them, so no id is reused."""
    key = (id(persona), *map(id, neighbours))
    hit = _TOPIC_NAMES.get(key)
    if hit is not None:
        return hit[1]
    table = _TopicNames(persona, neighbours)
    if len(_TOPIC_NAMES) >= _TOPIC_NAMES_MAX:
        _TOPIC_NAMES.clear()
    _TOPIC_NAMES[key] = ((persona, *neighbours), table)
    return table


def option_ok(text: str) -> bool:
    return OPTION_WORDS[0] <= len(text.split()) <= OPTION_WORDS[1]


def embedded(ctx: TurnContext, npc_line: str, last_player_line: str | None) -> list[Option]:
    """The embedded engine's three options, intents `ask`, `share`, `leave` in that order:
    5–10 words each, distinct from each other and from `last_player_line`, built from the
    persona's topics and opinions, the NPC's line and what the player shared (the option
    banks in sidecar/data/options.toml). Every `leave` option is one the player's reading
    (`reading.read`) takes as a goodbye. Deterministic per context; never raises."""
    turn = Call(ctx, "options")
    persona, mem, state = turn.persona, turn.mem, ctx.state
    rng = turn.rng(0)
    index = index_for(persona)
    line_tokens = tokens(npc_line)

    def naming(word: str) -> str:
        return as_player_says(word, persona, ctx.neighbours)

    # A keyword the NPC just said stands for its topic only when the persona's lines own it
    # ("my forge" → "your forge") or it names someone: "the iron" from "iron flowers" makes
    # "I'd love to hear more about the iron" — the topic is named instead.
    # A word before a capitalised one is part of a name there ("Private Pike", "Thimbleford
    # Blue"): "your private" is not what the NPC spoke of.
    topic_names = _topic_names(persona, ctx.neighbours)
    line_words = set(line_tokens) - {m.group(1).lower() for m in _TITLED.finditer(npc_line)}

    def phrase(topic_key: str) -> str:
        return topic_names.phrase(topic_key, line_words)

    def opinion_naming(subject: str) -> str:
        # An opinion is asked of a person or a thing, never of "your <topic>": "What is your
        # honest opinion of your music?" asks the NPC to judge itself.
        said = naming(subject)
        return said.split(" ", 1)[1] if said.startswith("your ") else said

    # The context is the one the reply was composed from, so what the player said in their
    # last line (their name, a like, a topic) is heard again here.
    heard = read(last_player_line) if last_player_line else None
    name_known = bool(turn.known_name(mem) or (heard and heard.name))
    likes = [x.what for x in mem.likes] + ([w for _, w in heard.likes] if heard else [])
    asked = set(mem.topics) | set(index.topics.find(heard.tokens) if heard else ())
    mentioned = index.topics.find(line_tokens)
    fresh = [k for k in persona.topics if k not in asked and k not in mentioned]
    # A subject offered on the last turns goes to the back: "your work" three turns running
    # reads like a stuck record even in different words.
    if state.offered:
        lately = f" {' '.join(normalize(text) for text in state.recently_offered)} "
        fresh.sort(key=lambda k: f" {normalize(phrase(k))} " in lately)
    subjects = [phrase(k) for k in mentioned[:1]] + [phrase(k) for k in fresh[:2]]
    voiced = {k for k in persona.opinions if normalize(persona.opinions[k]) in mem.cores}
    opinion_subjects = [s for s in persona.opinions if s not in voiced]

    taken: set[str] = set()
    if last_player_line:
        taken.add(normalize(last_player_line))
    # Offered on this turn or one of the last ones: not again while anything else is left.
    stale = {normalize(text) for text in state.recently_offered}

    def choose(candidates: list[str], fallback: Sequence[str]) -> str:
        shuffled_fallback = list(fallback)
        rng.shuffle(shuffled_fallback)
        for strict in (True, False):
            for text in [*candidates, *shuffled_fallback]:
                text = clean(text)
                key = normalize(text)
                if option_ok(text) and key not in taken and not (strict and key in stale):
                    taken.add(key)
                    return text
        raise AssertionError("option banks exhausted")  # banks are larger than `taken` can be

    ask_candidates: list[str] = []
    for s in subjects[:2]:
        ask_candidates.append(rng.choice(turn.ph("ask_subject")).replace("{s}", s))
    if opinion_subjects and rng.random() < 0.5:
        about = opinion_naming(rng.choice(opinion_subjects))
        ask_candidates.insert(rng.randrange(len(ask_candidates) + 1),
                              rng.choice(turn.ph("ask_opinion")).replace("{s}", about))
    if turn.tuning.band == "guarded" and rng.random() < 0.6:
        ask_candidates.insert(0, rng.choice(turn.ph("ask_guarded")))

    share_candidates: list[str] = []
    if turn.tuning.band == "guarded":
        share_candidates.append(rng.choice(turn.ph("share_sorry")))
    # "I'm Ana, by the way" once per conversation at most, and never once the name is known.
    if not name_known and not state.introduced and name_like(turn.ctx.player):
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


# --- prompt ---------------------------------------------------------------------------------


def options_prompt(npc_line: str, persona_name: str, *, structured: bool = False) -> str:
    """The instruction that asks a provider for three answer options to `npc_line`.

    With `structured=True` the provider is also sent `OPTIONS_SCHEMA` (response_format / tool)
    and the prompt asks for that JSON; otherwise it asks for a strict three-line format that
    `parse()` reads first (`ask: ...`, `share: ...`, `leave: ...`). The NPC line is flattened to
    one line and capped, so it cannot break the format.
    """
    line = _SPACES.sub(" ", npc_line).strip()[:600].replace('"', "'")
    name = _SPACES.sub(" ", persona_name).strip()[:60] or "The character"
    head = (
        f'{name} just said to the player: "{line}"\n\n'
        "Write three short replies the player could say next, each 5 to 10 words, in the "
        "player's own voice, all different:\n"
        f"- ask: a curious follow-up question about what {name} said\n"
        "- share: a related personal remark that builds a connection\n"
        "- leave: a natural change of topic or a goodbye\n\n"
    )
    if structured:
        return head + (
            'Answer only with JSON: {"options": [{"text": "...", "intent": "ask"}, '
            '{"text": "...", "intent": "share"}, {"text": "...", "intent": "leave"}]}'
        )
    return head + (
        "Answer with exactly these three lines and nothing else — no numbering, no quotes, "
        "no explanation:\nask: <reply>\nshare: <reply>\nleave: <reply>"
    )


__all__ = [
    "DROP_WORDS",
    "INTENTS",
    "MAX_WORDS",
    "OPTIONS_SCHEMA",
    "OPTIONS_SCHEMA_NAME",
    "RESERVE",
    "clean_text",
    "dedupe",
    "embedded",
    "finalize",
    "infer_intent",
    "introduces",
    "key",
    "normalize_intent",
    "options_prompt",
    "parse",
]
