"""What a turn leaves in long-term memory: facts about the player and events between them,
read from the turn's two lines.

Two readers, one result type (`NewMemory`, sidecar/store/memory.py):
- `heuristics`: the line-reading module's `Reading` (name, likes, dislikes) plus regexes for
  promises, gifts, favours, secrets, quarrels and apologies (cue words in
  sidecar/data/memory.toml). Cheap, offline, wrong in the ways regexes are.
- `parse_extraction`: a provider's JSON answer to `extraction_prompt` (JSON schema
  `EXTRACTION_SCHEMA`), validated item by item; None for anything that is not that shape, so
  the caller falls back to the heuristics and a turn never loses its memories to a provider
  fault.

Texts are written from the NPC's side: "I" is the NPC, "the player" the player. `spoken`
turns one back into words the NPC says to the player ("you promised to bring me a trout").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sidecar.engine.data import read_toml, word_list, word_map
from sidecar.engine.reading import MAX_PARSED_CHARS, Reading
from sidecar.engine.text import normalize, straight, words
from sidecar.engine.tone import ToneReading
from sidecar.errors import ConfigError
from sidecar.store.memory import (
    KINDS,
    MAX_IMPORTANCE,
    MAX_MEMORY_TEXT,
    MIN_IMPORTANCE,
    Memory,
    MemoryKind,
    NewMemory,
)

_FILE = "memory.toml"
_DATA = read_toml(_FILE)
_WORDS: Mapping[str, Any] = _DATA.get("words", {})


def _phrases(key: str) -> tuple[str, ...]:
    value = _WORDS.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(x, str) and x.strip() for x in value):
        raise ConfigError(f"sidecar/data/{_FILE}: words.{key}: must be a non-empty list of phrases")
    return tuple(x.strip().lower() for x in value)


def _importance() -> Mapping[str, int]:
    table = _DATA.get("importance")
    wanted = (*KINDS, "apology")
    if not isinstance(table, dict):
        raise ConfigError(f"sidecar/data/{_FILE}: importance: must be a table")
    for k in wanted:
        v = table.get(k)
        if not isinstance(v, int) or isinstance(v, bool) or not MIN_IMPORTANCE <= v <= MAX_IMPORTANCE:
            raise ConfigError(f"sidecar/data/{_FILE}: importance.{k}: must be {MIN_IMPORTANCE}..{MAX_IMPORTANCE}")
    return dict(table)


IMPORTANCE = _importance()
"""Default importance by kind (and `apology`)."""
_PLAYER_TO_NPC = word_map(_DATA, _FILE, "player_to_npc")
_NPC_TO_MEMORY = word_map(_DATA, _FILE, "npc_to_memory")
_SECOND_TO_THIRD = word_map(_DATA, _FILE, "second_to_third")
_THIRD_PERSON = word_map(_DATA, _FILE, "third_person")
_PROMISE_VERBS = word_list(_WORDS, _FILE, "promise_verbs")
_FAVOUR_VERBS = _phrases("favour_verbs")
_SECRET_CUES = _phrases("secret_cues")
_CLAUSE_STOPS = _phrases("clause_stops")
_MEMORY_CUES = frozenset(_phrases("memory_cues"))
_NOT_CONTENT = frozenset(_phrases("not_content"))


def _alternation(phrases: Sequence[str]) -> str:
    return "|".join(r"\s+".join(map(re.escape, p.split())) for p in sorted(phrases, key=len, reverse=True))


_PROMISE_WHEN = re.compile(r"\s+(?:" + _alternation(_phrases("promise_when")) + r")\s*([.!]?)\s*$", re.IGNORECASE)
_KEPT_CUE = re.compile(r"\b(?:" + _alternation(_phrases("kept_cues")) + r")\b", re.IGNORECASE)
_OBJECT = r"(?P<what>[^.!?;\n]{3,120})"
_SENTENCE = re.compile(r"(?<=[.!?…])\s+")
_CLAUSE = re.compile(r"[,:]?\s+\b(?:" + _alternation(_CLAUSE_STOPS) + r")\b.*$", re.IGNORECASE)
_PROMISE_WORD = re.compile(
    r"\b(?:i\s+promise(?:\s+(?:you|to\s+you))?|(?:you\s+have|i\s+give\s+you)\s+my\s+word)"
    r"(?:\s*[,:—-]\s*|\s+)(?:that\s+)?(?:i'll\s+|i\s+will\s+|i'm\s+going\s+to\s+|i\s+shall\s+|to\s+)?" + _OBJECT
    # "I swear" is a promise only with what is sworn: "I swear I'll ...", "I swear to return",
    # never "I swear, this village is mad" or "I swear to god ...".
    + r"|\bi\s+(?:swear|vow)(?:\s+(?:to\s+you|on\s+my\s+\w+))?\s*,?\s+(?:that\s+)?"
    r"(?:i'll\s+|i\s+will\s+|i\s+shall\s+|to\s+(?!god\b|gods\b|heaven\b)|(?=i\s+won't|i\s+will\s+not|never))"
    + _OBJECT.replace("what", "sworn"),
    re.IGNORECASE,
)
_PROMISE_WILL = re.compile(
    r"\b(?:i'll|i\s+will|i\s+shall|i'm\s+going\s+to|i\s+won't\s+forget\s+to)\s+(?:definitely\s+|surely\s+|really\s+)?"
    r"(?P<what>(?:be\s+back|(?:" + "|".join(_PROMISE_VERBS) + r"))\b[^.!?;\n]{2,120})",
    re.IGNORECASE,
)
_GIFT = re.compile(
    r"\b(?:here(?:'s|\s+is|\s+are)|i\s+(?:brought|got|made|have)\s+(?:you|for\s+you)|take\s+this"
    r"|i\s+want\s+you\s+to\s+have)\s+(?P<what>(?:a|an|some|the|this|these|my|your)\b[^.!?;,\n]{2,80})",
    re.IGNORECASE,
)
_GIFT_NAMED = re.compile(
    r"\b(?:i\s+(?:have|brought|got)|here(?:'s|\s+is))\s+(?:a\s+)?(?:gift|present|something)\s+for\s+you"
    r"(?:\s*[:,—-]\s*(?P<what>(?:a|an|some|the|this|my)\b[^.!?;,\n]{2,80}))?",
    re.IGNORECASE,
)
_NOT_GIFTS = frozenset(_phrases("not_gifts"))
_FOR_YOU = re.compile(r"\s+for\s+you$", re.IGNORECASE)
_GIFT_FOR_YOU = re.compile(
    r"\b(?P<what>(?:this|these|a|an|some)\s+[^.!?;,\n]{2,60}?)\s+(?:is|are)\s+(?:a\s+gift\s+)?for\s+you\b",
    re.IGNORECASE,
)
_FAVOUR = re.compile(
    r"\bi\s+(?:just\s+|finally\s+)?(?P<verb>" + _alternation(_FAVOUR_VERBS)
    + r")\s+(?P<what>(?:your|you)\b[^.!?;,\n]{0,80})",
    re.IGNORECASE,
)
_SECRET = re.compile(r"\b(?:" + _alternation(_SECRET_CUES) + r")(?!\w)", re.IGNORECASE)
_DETERMINERS = frozenset({"a", "an", "the", "this", "these", "that", "those", "some", "my", "your"})
_COMMA_I = re.compile(r",\s*(?:and\s+|but\s+|so\s+)?(?:i|i'm|i've|i'd)\b.*$", re.IGNORECASE)
"""A new clause of the player's own after a comma ("..., I love old maps") ends an object."""
_NOT_A_PROMISE = re.compile(r"^(?:if|when|unless|maybe|perhaps)\b", re.IGNORECASE)
_WORD = re.compile(r"[\w']+|[^\w']+")


def _swap(text: str, table: Mapping[str, str]) -> str:
    """Each word of `text` through `table` (case-insensitive), the rest as written."""
    return "".join(table.get(t.lower(), t) for t in _WORD.findall(text))


_NOT_TO = re.compile(r"^(?:i\s+(?:won't|will\s+not|shan't|shall\s+not)|never|not\s+to)\s+", re.IGNORECASE)
_CLAUSE_START = frozenset({"it", "it'll", "it's", "this", "that", "you", "you'll", "we", "we'll", "they", "he",
                           "she", "the", "your", "my", "nobody", "no", "everything", "nothing"})
"""A promise's object that starts with one of these is a clause ("it'll be ready"), not a verb."""


def _promised(who: str, what: str, person: Mapping[str, str]) -> str:
    """"<who> promised to <verb ...>", "... not to ...", or "... that <clause>"."""
    if _NOT_TO.search(what):
        return f"{who} promised not to {_swap(_NOT_TO.sub('', what), person)}."
    first = what.split(" ", 1)[0].lower()
    joint = "that" if first in _CLAUSE_START else "to"
    return f"{who} promised {joint} {_swap(what, person)}."


def _object(raw: str) -> str | None:
    """A promise's or gift's object, cut at the first clause that is not part of it."""
    what = _COMMA_I.sub("", _CLAUSE.sub("", raw.strip())).strip(" ,;:-—")
    if what.split(" ", 1)[0].lower() in _DETERMINERS:
        what = what[0].lower() + what[1:]  # "This pie is for you." -> "gave me this pie"
    return what if 2 <= len(what) <= 160 else None


def _cut(text: str) -> str:
    return text if len(text) <= MAX_MEMORY_TEXT else text[: MAX_MEMORY_TEXT - 1].rstrip() + "…"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", "…", '"')) else text + "."


def _gift(sentence: str) -> str | None:
    """What the player gives in `sentence`, if it gives anything."""
    named = _GIFT_NAMED.search(sentence)
    if named:
        return _object(named.group("what")) if named.group("what") else "a gift"
    gift = _GIFT.search(sentence) or _GIFT_FOR_YOU.search(sentence)
    if gift is None:
        return None
    rest = sentence[gift.end("what"):].lstrip()
    what = _object(gift.group("what"))
    if what is None or rest.startswith(":") or any(w in _NOT_GIFTS for w in words(what)[:3]):
        return None  # "Here's the thing, ...", "Here is my question: ..."
    return _FOR_YOU.sub("", what) or None


def player_facts(reading: Reading) -> list[NewMemory]:
    """The name, likes and dislikes the line-reading module found."""
    out: list[NewMemory] = []
    if reading.name:
        out.append(NewMemory("name", f"The player's name is {reading.name}.", IMPORTANCE["name"], key="name"))
    for kind, found in (("like", reading.likes), ("dislike", reading.dislikes)):
        for verb, what in found:
            said = _swap(what, _SECOND_TO_THIRD)
            out.append(
                NewMemory(
                    kind,  # type: ignore[arg-type]  # the two literals of the loop
                    _cut(f"The player {_THIRD_PERSON.get(verb, verb + 's')} {said}."),
                    IMPORTANCE[kind],
                    key=f"pref:{normalize(what)}",
                )
            )
    return out


def player_events(text: str, tone: ToneReading | None) -> list[NewMemory]:
    """Promises, gifts, favours, secrets, quarrels and apologies in the player's line."""
    text = straight(text[:MAX_PARSED_CHARS]).strip()
    out: list[NewMemory] = []
    secret = _SECRET.search(text)
    if secret:
        quoted = _cut(f'The player told me a secret: "{text}"')
        out.append(NewMemory("secret", quoted, IMPORTANCE["secret"]))
    for sentence in _SENTENCE.split(text):
        if _NOT_A_PROMISE.search(sentence):
            continue
        # A question about a promise ("Did I promise you something?") makes none.
        asked = sentence.rstrip().endswith("?")
        promise = None if asked else _PROMISE_WORD.search(sentence) or _PROMISE_WILL.search(sentence)
        what = _object(promise.group("what") or promise.group("sworn")) if promise else None
        if what and not (secret and "tell" in what.lower().split()):
            out.append(NewMemory("promise", _cut(_promised("The player", what, _PLAYER_TO_NPC)), IMPORTANCE["promise"]))
        what = _gift(sentence)
        if what:
            given = _cut(f"The player gave me {_swap(what, _PLAYER_TO_NPC)}.")
            out.append(NewMemory("gift", given, IMPORTANCE["gift"]))
        favour = _FAVOUR.search(sentence)
        if favour:
            deed = re.sub(r"\s+", " ", favour.group("verb").lower())
            what = _object(favour.group("what")) or ""
            out.append(
                NewMemory(
                    "favour",
                    _cut(_sentence(f"The player {deed} {_swap(what, _PLAYER_TO_NPC)}".strip())),
                    IMPORTANCE["favour"],
                )
            )
    if tone is not None and tone.stance_label == "hostile" and tone.targeted and tone.jab and not secret:
        # Only words hostile to the NPC (an insult, a jab) make a quarrel, not a cross tone
        # ("Are you still angry?"); a confession told in confidence is none, however dark.
        out.append(NewMemory("quarrel", _cut(f'The player insulted me: "{text}"'), IMPORTANCE["quarrel"]))
    if tone is not None and "apology" in tone.cues and tone.stance_label != "hostile":
        out.append(NewMemory("event", "The player apologised to me.", IMPORTANCE["apology"], key="event:apology"))
    return out


def npc_events(text: str) -> list[NewMemory]:
    """What the NPC promised in its own line (only an explicit "I promise", "you have my
    word"): sourced to the NPC's line (`line=1`)."""
    out: list[NewMemory] = []
    for sentence in _SENTENCE.split(straight(text[:MAX_PARSED_CHARS])):
        promise = _PROMISE_WORD.search(sentence)
        what = _object(promise.group("what") or promise.group("sworn")) if promise else None
        if what:
            out.append(NewMemory("promise", _cut(_promised("I", what, _NPC_TO_MEMORY)), IMPORTANCE["promise"], line=1))
    return out


def content_words(text: str) -> frozenset[str]:
    """The words that say what a gift or a promise is about."""
    return frozenset(w for w in words(text) if len(w) > 2 and w not in _NOT_CONTENT)


def fulfilled(gift: str, memories: Iterable[Memory]) -> Memory | None:
    """The player's promise that the gift `gift` (a memory text) keeps: the first of
    `memories` (best first) that is the player's promise and shares a content word with it."""
    about = content_words(gift)
    return next(
        (m for m in memories
         if m.kind == "promise" and not m.text.startswith("I ") and about & content_words(m.text)),
        None,
    )


def promise_kept(player_text: str, told: Iterable[NewMemory], memories: Iterable[Memory]) -> Memory | None:
    """The remembered promise (among `memories`, best first) this line keeps: a gift that
    shares a word with it ("Here is the trout I promised"), or the player saying they did it
    ("I reported the trouble at the bridge, as promised"). None when it keeps none."""
    recalled = list(memories)
    for gift in (m for m in told if m.kind == "gift"):
        promise = fulfilled(gift.text, recalled)
        if promise is not None:
            return promise
    if _KEPT_CUE.search(straight(player_text[:MAX_PARSED_CHARS])):
        return fulfilled(player_text[:MAX_PARSED_CHARS], recalled)
    return None


_PROMISED = re.compile(r"^the player promised\s+", re.IGNORECASE)


def kept(promise: Memory) -> NewMemory:
    """The promise as kept: same key, so it replaces the promise (which is no longer brought up)."""
    what = _PROMISED.sub("", without_when(promise.text))
    text = f"The player kept their promise {what}" if what != promise.text else f"The player kept a promise: {what}"
    return NewMemory("event", _cut(_sentence(text.rstrip("."))), promise.importance, key=promise.key)


def heuristics(reading: Reading, player_text: str, npc_text: str, tone: ToneReading | None) -> list[NewMemory]:
    """Every memory the rules find in one turn, deduplicated by key (the first wins)."""
    found = [*player_facts(reading), *player_events(player_text, tone), *npc_events(npc_text)]
    return list({m.key: m for m in reversed(found)}.values())[::-1]


# --- the provider's extraction ------------------------------------------------------------


def worth_asking(player_text: str, found: Sequence[NewMemory]) -> bool:
    """Whether a provider should read this turn for memories: the rules found one, or the
    player spoke of themself (a first-person word) or named a promise, gift or secret.
    Small talk and questions about the NPC cost no extra provider call."""
    return bool(found) or any(w in _MEMORY_CUES for w in words(straight(player_text[:MAX_PARSED_CHARS])))


def worth_asking_before(reading: Reading, player_text: str, tone: ToneReading | None) -> bool:
    """`worth_asking` on what the player's line alone gives the rules, before the NPC's line
    is written: whether the line request asks for the turn's memories with the line. A turn
    that becomes worth asking only through the NPC's line is asked in a separate call."""
    return worth_asking(player_text, [*player_facts(reading), *player_events(player_text, tone)])


MAX_EXTRACTED = 6
EXTRACTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "memories": {
            "type": "array",
            "maxItems": MAX_EXTRACTED,
            "items": {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": list(KINDS)},
                    "text": {"type": "string", "minLength": 1, "maxLength": 200},
                    "importance": {"type": "integer", "minimum": MIN_IMPORTANCE, "maximum": MAX_IMPORTANCE},
                    "said_by": {"type": "string", "enum": ["player", "npc"]},
                },
                "required": ["kind", "text", "importance", "said_by"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["memories"],
    "additionalProperties": False,
}


def extraction_guidance(npc_name: str) -> str:
    """What to remember and how to write it, as `EXTRACTION_SCHEMA` JSON: the one wording of
    the separate extraction call and of the memory line asked with the NPC's line
    (sidecar/engine/inline_options.py)."""
    return (
        "List only what is worth remembering in later meetings: the player's name, their likes "
        "and dislikes, promises made by either side, gifts, favours, quarrels, secrets told, and other "
        f"notable events. Write each memory as one short sentence from {npc_name}'s side: \"I\" is "
        f"{npc_name}, \"the player\" is the player (e.g. \"The player promised to bring me a trout.\"); a name "
        "is written \"The player's name is <name>.\". "
        "Importance 1 (trivial) to 10 (life-changing). Small talk gives an empty list. The JSON is "
        '{"memories": [{"kind": ..., "text": ..., "importance": ..., "said_by": "player"|"npc"}]}; '
        f"kind is one of: {', '.join(KINDS)}."
    )


def extraction_prompt(npc_name: str, player_line: str, npc_line: str) -> tuple[str, str]:
    """(system, user) asking a provider for the turn's memories as `EXTRACTION_SCHEMA` JSON."""
    system = (
        f"You keep {npc_name}'s long-term memory of a role-playing game's player. From the two lines "
        f"below: {extraction_guidance(npc_name)} Answer with JSON only."
    )
    user = f"Player: {player_line}\n{npc_name}: {npc_line}"
    return system, user


_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$")


def parse_extraction(text: str) -> list[NewMemory] | None:
    """A provider's memories, or None when the answer is not the schema's shape (not JSON, no
    `memories` list, or an item that is not a valid memory): the caller then uses the
    heuristics. A valid empty list is an answer (nothing worth remembering)."""
    try:
        raw = json.loads(_FENCE.sub("", text))
    except ValueError:
        return None
    return extracted(raw)


def extracted(raw: object) -> list[NewMemory] | None:
    """`parse_extraction` of JSON already decoded."""
    items = raw.get("memories") if isinstance(raw, dict) else None
    if not isinstance(items, list) or len(items) > MAX_EXTRACTED:
        return None
    out: list[NewMemory] = []
    for item in items:
        made = _item(item)
        if made is None:
            return None
        out.append(made)
    return list({m.key: m for m in out}.values())


def _item(item: object) -> NewMemory | None:
    if not isinstance(item, dict):
        return None
    kind, text, importance, said_by = (item.get(k) for k in ("kind", "text", "importance", "said_by"))
    if kind not in KINDS or not isinstance(text, str) or said_by not in ("player", "npc"):
        return None
    if not isinstance(importance, int) or isinstance(importance, bool):
        return None
    text = " ".join(text.split())
    if not text or len(text) > MAX_MEMORY_TEXT or not MIN_IMPORTANCE <= importance <= MAX_IMPORTANCE:
        return None
    mkind: MemoryKind = kind
    key = "name" if mkind == "name" else ""
    return NewMemory(mkind, text, importance, key=key, line=1 if said_by == "npc" else 0)


def with_name(provider: Sequence[NewMemory], rules: Sequence[NewMemory]) -> list[NewMemory]:
    """The provider's memories, plus the rules' name when the provider gave none (the name is
    what a returning player is greeted by; the rules read it reliably)."""
    out = list(provider)
    if not any(m.kind == "name" for m in out):
        out.extend(m for m in rules if m.kind == "name")
    return out


# --- saying a memory -----------------------------------------------------------------------

_TO_YOU = {"their": "your", "theirs": "yours", "they": "you", "them": "you", "they're": "you're",
           "they've": "you've", "they'll": "you'll", "they'd": "you'd", "themself": "yourself"}
"""What the memory's words for the player become when the NPC speaks to them."""
_AGREE = {**{v: k for k, v in _THIRD_PERSON.items()}, "is": "are", "was": "were", "has": "have",
          "doesn't": "don't", "does": "do"}
"""A verb after "you" ("the player loves" -> "you love")."""
_PLAYER = re.compile(r"\bthe player(?P<own>'s)?\b(?:\s+(?P<verb>doesn't\s+like|[\w']+))?", re.IGNORECASE)


def _you(m: re.Match[str]) -> str:
    if m.group("own"):
        return "your" + (f" {m.group('verb')}" if m.group("verb") else "")
    verb = m.group("verb")
    if verb is None:
        return "you"
    return "you " + _AGREE.get(verb.lower(), verb)


def without_when(text: str) -> str:
    """A promise without the time it was due, said as of its own day ("next time",
    "tomorrow"): for bringing it up at a later meeting."""
    return _PROMISE_WHEN.sub(r"\1", text.strip())


def spoken(text: str) -> str:
    """A memory as the NPC says it to the player: "The player promised to bring me a trout."
    becomes "you promised to bring me a trout" (no final stop: it goes inside a phrase)."""
    # A quoted line keeps its quote but not its full stop: the phrase adds its own ('you
    # insulted me: "You oaf".', not '"You oaf.".').
    out = _PLAYER.sub(_you, re.sub(r'[.!]+(["\u201d])$', r"\1", text.strip().rstrip(".!")))
    out = _swap(out, _TO_YOU)
    # Only the words made here start lower-case inside a phrase; a name ("Mira promised ...")
    # or "I" keeps its capital.
    return out[:1].lower() + out[1:] if re.match(r"(?:You|Your)\b", out) else out


__all__ = [
    "EXTRACTION_SCHEMA",
    "IMPORTANCE",
    "MAX_EXTRACTED",
    "content_words",
    "extraction_prompt",
    "fulfilled",
    "kept",
    "promise_kept",
    "without_when",
    "heuristics",
    "npc_events",
    "parse_extraction",
    "player_events",
    "player_facts",
    "spoken",
    "extracted",
    "extraction_guidance",
    "with_name",
    "worth_asking",
    "worth_asking_before",
]
