"""Quality score of a generated NPC line (seed §5), and the bounded retry gate around it.

`score()` starts at 100 and applies named rules (see `RULES`); every rule that fires is
returned as a `RuleHit`, so a stored score can always be explained. Bonuses for engaging the
player never apply to a line that hits a *severe* rule (breaking character, speaking for the
player or another NPC by a label or by narrating their words or actions (`voices_other`: what
engine/scene/attribution.py cannot cut), repeating a recent line verbatim or nearly, echoing
the player's own line back, a chat-template token or an instruction's placeholder showing
through, no words at all, empty):
a question mark must not redeem "As an AI, I can't help with that. Anything else?".

Fixed from the seed:
- its "bonus" for the NPC's own name subtracted points and fired on any mention, including
  "I'm Bram". Here it is an honest penalty, `third_person_self`, that ignores
  self-introductions ("I'm Bram", "my name is Bram", "call me Bram", "Bram here") and a leading
  "Bram:" label (that is `self_label`).
- its retry popped a line from the conversation that it never appended, eating a real line
  each retry. `QualityGate.run` never touches history: it only calls `generate(attempt)`.
- it returned the *last* attempt when all were below threshold; the gate keeps the best.
- "i cannot" flagged in-character lines ("I cannot believe it!"); refusals are matched as
  phrases ("I cannot help with that").
- "you" was a substring test ("youth", "bayou"); it is a word test here.
- its repeat check compared against `conversation[-2]` only (usually the *player's* line) and
  only verbatim; here every recent NPC line is compared, verbatim and near-verbatim.

Pure and deterministic: no I/O, no clock, no randomness.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from sidecar.engine.data import read_toml, word_list
from sidecar.engine.text import estimate_tokens, normalize, similarity, straight
from sidecar.engine.types import PLAYER, Line
from sidecar.errors import ConfigError, ProviderError
from sidecar.personas.model import Persona

DEFAULT_THRESHOLD = 60
DEFAULT_MAX_RETRIES = 2
MIN_CHARS = 10
"""Lines shorter than this (stripped) are `too_short` (seed: `len(response) < 10`)."""
EXCLAMATION_LIMIT = 3
"""More `!` than this is `exclamation_spam` (seed)."""
REPEAT_WINDOW = 6
"""How many of the most recent NPC lines a new line is compared with."""
NEAR_DUPLICATE = 0.85
"""`similarity()` at or above which a line is a near repeat of a recent one."""

# Rule name -> points. Negative = penalty, positive = bonus.
RULES: dict[str, int] = {
    "empty": -100,
    "no_words": -70,
    "leaks_markup": -60,
    "echoes_player": -50,
    "breaks_character": -50,
    "speaks_for_player": -50,
    "speaks_for_other": -50,
    "voices_other": -45,
    "repeats_line": -50,
    "near_repeat": -45,
    "invalid_action": -45,
    "too_short": -30,
    "too_long": -20,
    "exclamation_spam": -20,
    "third_person_self": -15,
    "self_label": -10,
    "addresses_player": 10,
    "asks_question": 10,
}
SEVERE = frozenset(
    {
        "empty",
        "no_words",
        "leaks_markup",
        "echoes_player",
        "breaks_character",
        "speaks_for_player",
        "speaks_for_other",
        "voices_other",
        "repeats_line",
        "near_repeat",
        "invalid_action",
    }
)
"""Rules after which no bonus applies."""


@dataclass(frozen=True)
class RuleHit:
    name: str
    points: int
    detail: str


@dataclass(frozen=True)
class Quality:
    score: int
    """0..100."""
    rules: tuple[RuleHit, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(hit.name for hit in self.rules)

    @property
    def severe(self) -> bool:
        return any(hit.name in SEVERE for hit in self.rules)

    def as_dict(self) -> dict[str, object]:
        """JSON-able form, to store with the line."""
        return {
            "score": self.score,
            "rules": [{"name": h.name, "points": h.points, "detail": h.detail} for h in self.rules],
        }


# --- text helpers ---------------------------------------------------------------------------

def _plain(text: str) -> str:
    """Curly quotes made straight, case kept (the rules' regexes are case-insensitive)."""
    return straight(text)


# --- rules ----------------------------------------------------------------------------------

_BREAKS = re.compile(
    r"""
    \bas\s+an?\s+(?:ai|a\.i\.|artificial\s+intelligence|(?:large\s+)?language\s+model|llm
        |chatbot|(?:virtual\s+|digital\s+|helpful\s+)?assistant)\b
    | \b(?:large\s+)?language\s+model\b
    | \bi(?:'m|\s+am)\s+(?:just\s+|only\s+|merely\s+)?an?\s+(?:ai|artificial\s+intelligence
        |chatbot|bot|virtual\s+assistant|computer\s+program)\b
    | \b(?:openai|chatgpt|anthropic)\b
    | \bi\s+(?:cannot|can't|can\s+not|am\s+unable\s+to|'m\s+unable\s+to|am\s+not\s+able\s+to
        |'m\s+not\s+able\s+to|won't\s+be\s+able\s+to)\s+(?:help|assist)\s+(?:you\s+)?with\s+
        (?:that|this|your\s+request)\b
    | \bi\s+(?:cannot|can't)\s+(?:comply|fulfil+)\b
    | \bi(?:'m|\s+am)\s+(?:sorry|afraid),?\s+but\s+i\s+(?:cannot|can't|am\s+unable|'m\s+unable)
        \s+(?:help|assist|comply|provide|fulfil+|engage|continue)\b
    | \bi\s+apologi[sz]e,?\s+but\b
    | \b(?:content|usage)\s+polic(?:y|ies)\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
_YOU = re.compile(r"\byou(?:r|rs|rself|rselves|'re|'ll|'ve|'d)?\b", re.IGNORECASE)
_GENERIC_PLAYER_LABELS = ("player", "you", "user", "human")
_INTRO_BEFORE = re.compile(
    r"(?:\bi'm|\bi\s+am|\bmy\s+name\s+is|\bmy\s+name's|\bname's|\bcall\s+me|\bknown\s+as"
    r"|\bit's|\bit\s+is|\bthis\s+is)\s+(?:[\"']?\w+\s+)?[\"']?$",
    re.IGNORECASE,
)
_INTRO_AFTER = re.compile(r"^[\"']?\s+here\b", re.IGNORECASE)


def _speaker_label(names: Iterable[str], but: frozenset[str] = frozenset()) -> re.Pattern[str] | None:
    """A line or sentence that starts with `Name:` (optionally bold/bracketed/quoted), for
    any of `names` whose case-folded form is not in `but`."""
    return _label_for(tuple(names), but)


@functools.lru_cache(maxsize=1024)
def _label_for(names: tuple[str, ...], but: frozenset[str]) -> re.Pattern[str] | None:
    # Cached on the raw names as well: the same name lists come every turn, and filtering and
    # sorting the other NPCs' names each time cost more than the search.
    alts = sorted(
        {n.strip() for n in names if n.casefold() not in but and n and n.strip()}, key=len, reverse=True
    )
    return _label_pattern(tuple(alts)) if alts else None


@functools.lru_cache(maxsize=1024)
def _label_pattern(alts: tuple[str, ...]) -> re.Pattern[str]:
    # Cached: the same few name sets (this NPC, the player, the other NPCs) come every turn,
    # and compiling them was about a quarter of a score in a profile.
    body = "|".join(re.escape(n) for n in alts)
    return re.compile(
        rf"(?:^|[\r\n]|(?<=[.!?\u2026]))\s*[*_\"'\[(]*\s*(?P<who>{body})\s*[*_\])]*"
        r"(?:\s*\([^()\n]{0,40}\))?\s*[*_\])]*\s*:",  # "Goldie (laughing):" too
        re.IGNORECASE,
    )


@functools.lru_cache(maxsize=1024)
def _name_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")


@functools.lru_cache(maxsize=4096)
def breaks_character(text: str) -> bool:
    """Whether `text` talks like an AI assistant ("as an AI", refusals, policy talk). Cached:
    option texts come from banks and recur, and every option is checked twice a turn."""
    return _BREAKS.search(_plain(text)) is not None


def _breaks_character(text: str) -> RuleHit | None:
    m = _BREAKS.search(_plain(text))
    if m is None:
        return None
    return RuleHit("breaks_character", RULES["breaks_character"], f"says {m.group(0)!r}")


_MARKUP = re.compile(
    r"""
    <\|[^|<>\n]{1,40}\|>                       # chat-template tokens: <|im_start|>, <|eot_id|>
    | </?s> | <(?:start|end)_of_turn> | \[/?INST\] | <</?SYS>>
    | <[a-z][^<>\n]{0,80}\s[^<>\n]{1,80}>      # an instruction's placeholder: <a curious question ...>
    | ^\s*[{}\[\]"',:]+\s*$                    # a JSON fragment alone: },
    """,
    re.VERBOSE | re.MULTILINE,
)
_LETTER = re.compile(r"[^\W\d_]")


def _markup(text: str) -> RuleHit | None:
    """A model's template or prompt showing through: a turn token (the model went on to write
    the next turn), a placeholder of an instruction copied out, or a bare JSON fragment. Found
    by talking to a 270M local model, whose lines were "<|im_start|>user" and "},"."""
    m = _MARKUP.search(text)
    return RuleHit("leaks_markup", RULES["leaks_markup"], f"writes {m.group(0).strip()[:40]!r}") if m else None


def _echo(text: str, history: Sequence[Line]) -> RuleHit | None:
    """The line repeats the player's own line back (a small model answering "I'm Wren, and I
    promise ..." with "I'm Wren, and I promise ...")."""
    said = next((line.text for line in reversed(history) if line.speaker == PLAYER), None)
    if said is None:
        return None
    if similarity(text, said, at_least=NEAR_DUPLICATE) >= NEAR_DUPLICATE:  # 1.0 when equal once normalized
        return RuleHit("echoes_player", RULES["echoes_player"], f"repeats the player's {said[:60]!r}")
    return None


def _length(text: str, preset_max_tokens: int) -> list[RuleHit]:
    hits: list[RuleHit] = []
    stripped = text.strip()
    if len(stripped) < MIN_CHARS:
        hits.append(RuleHit("too_short", RULES["too_short"], f"{len(stripped)} characters"))
    tokens = estimate_tokens(stripped)
    if tokens > preset_max_tokens:
        hits.append(
            RuleHit("too_long", RULES["too_long"], f"~{tokens} tokens > {preset_max_tokens}")
        )
    return hits


def _repeat(text: str, persona: Persona, history: Sequence[Line]) -> RuleHit | None:
    recent = [line.text for line in history if line.speaker != PLAYER][-REPEAT_WINDOW:]
    key = normalize(text)
    best = 0.0
    for old in reversed(recent):
        if normalize(old) == key:
            return RuleHit("repeats_line", RULES["repeats_line"], f"repeats {old[:60]!r}")
        best = max(best, similarity(text, old, at_least=NEAR_DUPLICATE))
    if best >= NEAR_DUPLICATE:
        return RuleHit("near_repeat", RULES["near_repeat"], f"{best:.2f} similar to a recent line")
    return None


def _speaks_for(
    text: str, persona: Persona, player_name: str | None, other_names: Sequence[str]
) -> list[RuleHit]:
    hits: list[RuleHit] = []
    own = frozenset(n.casefold() for n in persona.names)
    player_labels = (*_GENERIC_PLAYER_LABELS, *((player_name,) if player_name else ()))
    pattern = _speaker_label(player_labels, own)
    if pattern is not None and (m := pattern.search(text)):
        hits.append(
            RuleHit("speaks_for_player", RULES["speaks_for_player"], f"writes {m['who']}'s line")
        )
    pattern = _speaker_label(other_names, own)
    if pattern is not None and (m := pattern.search(text)):
        hits.append(
            RuleHit("speaks_for_other", RULES["speaks_for_other"], f"writes {m['who']}'s line")
        )
    return hits


_STAGE = re.compile(r"\*([^*\n]+)\*")
"""A stage direction, *between asterisks*, paired left to right."""
_VOICE_VERBS = word_list(read_toml("scene_quality.toml"), "scene_quality.toml", "verbs")


_PLAYER_MARK = "\ue000"
"""Stands in for the player's name, character for character, while the narration patterns
read a line (`_mark_player`). A private-use character: not a word character, not a space, so
the patterns' edges treat it as they treat the name's own letters' surroundings."""


@functools.lru_cache(maxsize=1024)
def _narration_patterns(alts: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """Another's name (or "you", or the player's name marked by `_mark_player`) and a speech or
    action verb, inside a stage direction or next to a quotation
    (sidecar/data/scene_quality.toml). Compiling these takes ~3 ms: keyed on the other NPCs'
    names only, which stay the same for a persona's whole session, while the player's name
    comes with each new player (it was the first turn of every conversation's cost)."""
    who = "|".join((*(r"\s+".join(re.escape(w) for w in n.split()) for n in alts), f"{_PLAYER_MARK}+"))
    verbs = "|".join(re.escape(v) for v in _VOICE_VERBS)
    subject = rf"(?<!\w)(?P<who>{who})(?:\s+\w+ly)?\s+(?:{verbs})\b"
    forms = (
        # *Goldie laughs*, *then Rook nods*: read inside each stage direction (`_STAGE` pairs
        # the asterisks left to right), so the words between two of them are not one.
        rf"^[^*\n]{{0,40}}?{subject}",
        rf"[,!?\u2026][\"\u201d]\s*{subject}",  # "Oh!" Goldie says. (a dialogue tag)
        rf"{subject}[^\"\u201c\n]{{0,30}}?[,:.]\s*[\"\u201c]",  # Goldie says, "Oh!"
    )
    return tuple(re.compile(f, re.IGNORECASE) for f in forms)


@functools.lru_cache(maxsize=1024)
def _player_name_pattern(name: str) -> re.Pattern[str]:
    words = r"\s+".join(re.escape(w) for w in name.split())
    return re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)


def _mark_player(plain: str, name: str) -> str:
    """`plain` with the player's `name`, wherever it stands as whole words, replaced by as many
    `_PLAYER_MARK`s: the same length, so a match's span reads the same words in `plain`."""
    plain = plain.replace(_PLAYER_MARK, "\ufffd")  # a line's own marks are no name
    if not name:
        return plain
    return _player_name_pattern(name).sub(lambda m: _PLAYER_MARK * len(m[0]), plain)


def _inside_another(name: str, alts: Sequence[str]) -> bool:
    """Whether `name`'s words stand inside a longer name of `alts` ("Vane" in "Captain Vane"):
    marked, they would hide that name's match, so such a player's name joins the patterns."""
    words = name.casefold().split()
    for alt in alts:
        other = alt.casefold().split()
        if len(other) > len(words) and any(other[i : i + len(words)] == words for i in range(len(other))):
            return True
    return False


@functools.lru_cache(maxsize=1024)
def _narrators(own: tuple[str, ...], player_name: str, other_names: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """The names the narration patterns look for, longest first, and the player's name to
    mark in the line ("" for none). Cached: the same few name sets come every turn, and
    reading twenty names' words each time cost more than the search."""
    own_folded = {n.casefold() for n in own}
    names = {n.strip() for n in (*other_names, "you") if n and n.strip() and n.strip().casefold() not in own_folded}
    player = player_name.strip()
    if player.casefold() in own_folded:
        player = ""
    if player and _inside_another(player, tuple(names)):
        names.add(player)
        player = ""
    return tuple(sorted(names, key=lambda n: (-len(n), n))), player


def _voices_other(text: str, persona: Persona, player_name: str | None, other_names: Sequence[str]) -> RuleHit | None:
    """Narrated words or actions of another NPC or the player: what `split_foreign`
    (engine/scene/attribution.py) cannot cut, because no "Name:" label marks it."""
    alts, player = _narrators(tuple(persona.names), player_name or "", tuple(other_names))
    plain = _plain(text)
    marked = _mark_player(plain, player)
    staged, *spoken = _narration_patterns(alts)
    for direction in _STAGE.finditer(marked):
        if (m := staged.search(direction[1])) is not None:
            at = direction.start(1)
            who = plain[at + m.start("who") : at + m.end("who")]
            said = plain[direction.start() : direction.end()]
            return RuleHit("voices_other", RULES["voices_other"], f"narrates {who}: {said[:60]!r}")
    for pattern in spoken:
        if (m := pattern.search(marked)) is not None:
            who = plain[m.start("who") : m.end("who")]
            said = plain[m.start() : m.end()]
            return RuleHit("voices_other", RULES["voices_other"], f"narrates {who}: {said[:60]!r}")
    return None


def _self_reference(text: str, persona: Persona) -> list[RuleHit]:
    hits: list[RuleHit] = []
    label = _speaker_label(persona.names)
    body = text
    if label is not None and (labels := list(label.finditer(text))):
        who = labels[0]["who"]
        hits.append(RuleHit("self_label", RULES["self_label"], f"labels its line {who}:"))
        for m in labels:  # a script-style label is not a third-person mention
            body = body[: m.start()] + " " * (m.end() - m.start()) + body[m.end() :]
    plain = _plain(body)
    for name in sorted(persona.names, key=len, reverse=True):
        for m in _name_pattern(name).finditer(plain):
            if _INTRO_BEFORE.search(plain[max(0, m.start() - 40) : m.start()]):
                continue
            if _INTRO_AFTER.match(plain[m.end() : m.end() + 10]):
                continue
            hits.append(
                RuleHit("third_person_self", RULES["third_person_self"], f"names itself {name!r}")
            )
            return hits
    return hits


def score(
    text: str,
    *,
    persona: Persona,
    history: Sequence[Line],
    preset_max_tokens: int,
    player_name: str | None = None,
    other_names: Sequence[str] = (),
    invalid_actions: Sequence[str] = (),
) -> Quality:
    """Score `text` as `persona`'s next line, 0..100 (100 = no problem found).

    `history` is the recent conversation, oldest first; only non-player lines are compared for
    repeats. `preset_max_tokens` is the personality preset's budget. `player_name` and
    `other_names` (other NPCs present) are the labels the line must not speak under.
    `invalid_actions`: why each action proposed with the line was dropped (one hit each, so
    the gate retries for a line whose actions are valid).
    Raises ValueError if `preset_max_tokens` < 1 (a caller bug, never player input).
    """
    if preset_max_tokens < 1:
        raise ValueError(f"preset_max_tokens must be >= 1, got {preset_max_tokens}")
    if not text.strip():
        hits = [RuleHit("empty", RULES["empty"], "blank line")]
        return Quality(0, tuple(hits))
    hits = []
    if _LETTER.search(text) is None:
        hits.append(RuleHit("no_words", RULES["no_words"], "no letters"))
    if (hit := _markup(text)) is not None:
        hits.append(hit)
    if (hit := _breaks_character(text)) is not None:
        hits.append(hit)
    hits.extend(_length(text, preset_max_tokens))
    if (hit := _repeat(text, persona, history)) is not None:
        hits.append(hit)
    if (hit := _echo(text, history)) is not None:
        hits.append(hit)
    hits.extend(_speaks_for(text, persona, player_name, other_names))
    if (hit := _voices_other(text, persona, player_name, other_names)) is not None:
        hits.append(hit)
    hits.extend(_self_reference(text, persona))
    hits.extend(RuleHit("invalid_action", RULES["invalid_action"], why) for why in invalid_actions)
    bangs = text.count("!")
    if bangs > EXCLAMATION_LIMIT:
        hits.append(RuleHit("exclamation_spam", RULES["exclamation_spam"], f"{bangs} '!'"))
    if not any(h.name in SEVERE for h in hits):
        if m := _YOU.search(text):
            hits.append(RuleHit("addresses_player", RULES["addresses_player"], f"says {m[0]!r}"))
        if "?" in text:
            hits.append(RuleHit("asks_question", RULES["asks_question"], "asks a question"))
    total = 100 + sum(h.points for h in hits)
    return Quality(max(0, min(100, total)), tuple(hits))


# --- the gate -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateResult:
    best_text: str
    best_quality: Quality
    attempts: tuple[tuple[str, Quality], ...]
    """Every line generated, in order, with its score."""
    retries: int
    """Generation calls after the first (failed ones included)."""
    passed: bool
    """Whether `best_quality` reached the threshold."""
    errors: tuple[str, ...] = ()
    """Wire codes of provider errors raised by retries (the first call's error propagates)."""


class QualityGate:
    """Generate, score, and retry below `threshold`, at most `max_retries` times.

    The gate owns no conversation state: `generate(attempt)` (attempt 0, 1, ...) must produce a
    fresh candidate — the caller may switch provider or temperature by attempt number. The best
    attempt is kept (earliest wins ties), not the last.
    """

    def __init__(
        self, threshold: int = DEFAULT_THRESHOLD, max_retries: int = DEFAULT_MAX_RETRIES
    ) -> None:
        """Raises ConfigError if threshold is outside 0..100 or max_retries outside 0..10."""
        if not 0 <= threshold <= 100:
            raise ConfigError(f"quality threshold must be 0..100, got {threshold}")
        if not 0 <= max_retries <= 10:
            raise ConfigError(f"quality max_retries must be 0..10, got {max_retries}")
        self.threshold = threshold
        self.max_retries = max_retries

    async def run(
        self,
        generate: Callable[[int], Awaitable[str]],
        score_fn: Callable[[str], Quality],
    ) -> GateResult:
        """Run the bounded retry loop.

        A ProviderError from the first call propagates (there is nothing to keep); from a retry
        it is recorded in `errors` and the loop goes on to the next attempt. Anything else
        (including CancelledError) propagates untouched.
        """
        attempts: list[tuple[str, Quality]] = []
        errors: list[str] = []
        best: tuple[str, Quality] | None = None
        calls = 0
        for attempt in range(self.max_retries + 1):
            calls += 1
            try:
                text = await generate(attempt)
            except ProviderError as exc:
                if attempt == 0:
                    raise
                errors.append(exc.code.value)
                continue
            quality = score_fn(text)
            attempts.append((text, quality))
            if best is None or quality.score > best[1].score:
                best = (text, quality)
            if quality.score >= self.threshold:
                break
        assert best is not None  # attempt 0 either succeeded or raised
        return GateResult(
            best_text=best[0],
            best_quality=best[1],
            attempts=tuple(attempts),
            retries=calls - 1,
            passed=best[1].score >= self.threshold,
            errors=tuple(errors),
        )


__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_THRESHOLD",
    "RULES",
    "SEVERE",
    "GateResult",
    "Quality",
    "QualityGate",
    "RuleHit",
    "breaks_character",
    "score",
]
