"""Provider prompts from a persona, and replies cleaned before they are stored.

`build_request` renders the persona's `system_prompt` template (placeholders:
`personas.model.PROMPT_PLACEHOLDERS`), adds what the template did not say (who the player is,
how the NPC feels about them, memories, who else is present, the reply rules), and maps recent
lines onto user/assistant turns. `llm/` does not import `sidecar.engine`: lines and tuning are
taken structurally (anything with `.speaker`/`.text`, and `.temperature`/`.frequency_penalty`/
`.max_tokens`/`.style_text`), so `engine.types.Line` and `engine.personality.Tuning` fit.

`clean_reply` and `StreamCleaner` remove what a model adds around a line: a "Name:" label,
wrapping quotes, and everything from the point where it starts speaking for the player or
another NPC. The streaming cleaner holds back only the few characters that could still turn
into a label, and by construction emits exactly `clean_reply(full_text)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sidecar.engine.text import sentences
from sidecar.engine.tokens import ContextBudget
from sidecar.llm.budget import Sections, fit_sections, render
from sidecar.llm.types import ChatMessage, ChatRequest, RequestTags
from sidecar.personas.model import Persona

PLAYER = "player"
MAX_HISTORY = 16


class LineLike(Protocol):
    @property
    def speaker(self) -> str: ...

    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class _Line:
    speaker: str
    text: str


class TuningLike(Protocol):
    @property
    def temperature(self) -> float: ...

    @property
    def frequency_penalty(self) -> float: ...

    @property
    def max_tokens(self) -> int: ...

    @property
    def style_text(self) -> str: ...


def relationship_text(affinity: int) -> str:
    """How an NPC feels about the player at this affinity (0..100), in words a model uses."""
    if affinity < 20:
        return "you distrust them and keep your distance"
    if affinity < 40:
        return "you are wary of them"
    if affinity < 60:
        return "you hardly know them; you are neutral"
    if affinity < 80:
        return "you like them and speak warmly"
    return "they are a close friend; you are open and affectionate"


def render_system(persona: Persona, values: dict[str, str]) -> str:
    """Substitute `{placeholder}`s. Unknown ones cannot occur (the persona schema rejects
    them); any other braces are left as written, unlike `str.format`."""
    return re.sub(r"{(\w+)}", lambda m: values.get(m.group(1), m.group(0)), persona.system_prompt)


def build_request(
    persona: Persona,
    *,
    player: str,
    player_name: str | None = None,
    affinity: int,
    tuning: TuningLike,
    history: Sequence[LineLike],
    relationship: str | None = None,
    memories: Sequence[str] = (),
    others: Sequence[Persona] = (),
    conversation: str | None = None,
    player_line: str | None = None,
    opening: str | None = None,
    hints: Sequence[str] = (),
    max_history: int = MAX_HISTORY,
    summary: str | None = None,
    budget: ContextBudget | None = None,
) -> ChatRequest:
    """The request for this persona's next line.

    `history` is oldest first, with `speaker` = persona id or "player"; `player_line` is the
    player's line of this turn when it is not stored in `history` yet. The messages always
    end with a user turn (a short stage note when the NPC speaks first or again), as every
    chat API expects. `relationship` overrides the affinity-derived feeling. `hints` are extra
    sentences for the system prompt (e.g. what the player is trying to do, where the persona
    allows the NPC to know it), placed before the reply rules. `player_name` is the player's
    display name when known (from the game or the conversation): the prompt calls the player
    by it instead of the id `player`, and tells the NPC it knows the name.

    `summary` is the conversation's rolling summary of the lines before `history`;
    `memories` are best first. With a `budget`, the prompt (system + messages + framing,
    counted by the budget's counter) plus the reply's `max_tokens` never exceeds
    `budget.tokens`: sections are dropped or trimmed in the order `llm.budget` documents, and
    the reply is given at most half the budget. Without one, only
    `max_history` limits the lines. Raises `BudgetTooSmall` when not even the reply rules fit.
    """
    feeling = relationship or relationship_text(affinity)
    if player_name:
        player = player_name
    values = {
        "name": persona.name,
        "role": persona.role,
        "bio": persona.bio,
        "style": tuning.style_text,
        "player": player,
        "affinity": str(affinity),
        "facts": "; ".join(persona.facts) or "nothing in particular",
        "quirks": ", ".join(persona.speech.quirks) or "none",
        "relationship": feeling,
    }
    template = persona.system_prompt
    head = [render_system(persona, values).strip()]
    if "{player}" not in template or "{relationship}" not in template:
        head.append(f"You are talking with {player}; {feeling} (affinity {affinity}/100).")
    if player_name:
        head.append(f"You know their name is {player_name}: never ask for it.")
    if others:
        present = ", ".join(f"{o.name} ({o.role})" for o in others)
        head.append(f"Also present: {present}.")
    rules = (
        f"Reply with {persona.name}'s next line only: spoken words, in the first person, "
        f"without a name label. Never write lines or actions for {player}"
        + (" or the others present." if others else ".")
    )
    names = {persona.id: persona.name, **{o.id: o.name for o in others}}
    group = bool(others) or any(line.speaker not in (PLAYER, persona.id) for line in history)
    messages: list[ChatMessage] = []
    lines: list[LineLike] = list(history)
    if player_line is not None:
        lines.append(_Line(PLAYER, player_line))
    for line in lines[-max_history:]:
        if line.speaker == persona.id:
            messages.append(ChatMessage("assistant", line.text))
        elif group:
            who = player if line.speaker == PLAYER else names.get(line.speaker, line.speaker)
            messages.append(ChatMessage("user", f"{who}: {line.text}"))
        else:
            messages.append(ChatMessage("user", line.text))

    def tail(kept: tuple[ChatMessage, ...]) -> tuple[ChatMessage, ...]:
        if not kept:
            return (ChatMessage("user", opening or f"({player} approaches you.)"),)
        if kept[-1].role == "assistant":
            return (*kept, ChatMessage("user", opening or f"({player} waits for you to go on.)"))
        return kept

    sections = Sections(
        head="\n\n".join(head),
        memories=tuple(m.strip() for m in memories if m.strip()),
        summary=tuple(sentences(summary)) if summary else (),
        hints=tuple(h.strip() for h in hints if h.strip()),
        rules=rules,
        lines=tuple(messages),
        tail=tail,
    )
    max_tokens = tuning.max_tokens
    if budget is not None:
        # A reply may take at most half the budget, so a small budget still has a prompt.
        max_tokens = min(max_tokens, budget.tokens // 2)
        sections = fit_sections(sections, budget.prompt_tokens(max_tokens), budget.counter)
    system, kept = render(sections)
    stops = [f"\n{player}:"] + [f"\n{o.name}:" for o in others]
    return ChatRequest(
        system=system,
        messages=kept,
        temperature=tuning.temperature,
        max_tokens=max_tokens,
        frequency_penalty=tuning.frequency_penalty,
        stop=tuple(stops[:4]),
        tags=RequestTags(conversation=conversation, persona=persona.id),
    )


_QUOTES = {'"': '"', "\u201c": "\u201d", "\u00ab": "\u00bb", "\u201e": "\u201c"}
_SENTENCE_END = '.!?\u2026"\u201d)'
_GENERIC_PLAYER = ("player", "you", "user")
_WAIT = -1
_RUNS: dict[str, re.Pattern[str]] = {}


def _visible_run(close_quote: str | None) -> re.Pattern[str]:
    """Words (non-whitespace characters: regex `\\s` is exactly `str.isspace`) and the
    whitespace between them, the pending closing quote excluded, up to the first word that
    ends a sentence and without a newline: no label can start inside such a run."""
    quote = close_quote or ""
    pattern = _RUNS.get(quote)
    if pattern is None:
        visible = f"[^\\s{re.escape(quote)}]"
        mid = f"[^\\s{re.escape(quote + _SENTENCE_END)}]"  # a word's last letter, not a sentence end
        pattern = _RUNS[quote] = re.compile(f"(?:{visible}*{mid}[^\\S\\n]+)*{visible}+")
    return pattern


class StreamCleaner:
    """Cleans a reply while it streams. `feed(chunk)` returns text safe to show now;
    `finish()` returns the rest. The concatenation equals `clean_reply(text)` whatever the
    chunking, because every decision waits until no later character can change it.

    Rules, in order of the text: whitespace at the ends is dropped; a leading "Name:" label of
    the speaker (also `**Name:**`) is dropped, as is one at the start of any later line; a
    leading quote is dropped with its first matching closing quote; at the start of a line or
    after a sentence end, a label of the player (their name, "Player", "User", "You" at line
    start only) or of another NPC ends the reply there.
    """

    def __init__(self, speaker_names: Iterable[str], player_name: str, other_names: Iterable[str] = ()) -> None:
        self._own = tuple(n.lower() for n in speaker_names if n)
        players = (player_name.lower(), *_GENERIC_PLAYER) if player_name else _GENERIC_PLAYER
        self._cut_line = tuple(dict.fromkeys((*players, *(n.lower() for n in other_names if n))))
        self._cut_inline = tuple(n for n in self._cut_line if n not in ("you", "user"))
        self._buf = ""
        self._emitted_any = False
        self._pending_ws = ""
        self._line_start = True
        self._after_sentence = False
        self._close_quote: str | None = None
        self._last = ""
        self._done = False

    def feed(self, chunk: str) -> str:
        self._buf += chunk
        return self._run(final=False)

    def finish(self) -> str:
        out = self._run(final=True)
        self._pending_ws = ""
        self._done = True
        return out

    def _label(self, text: str, names: tuple[str, ...], final: bool) -> int:
        """At the start of `text`: the length of a full `Name:` label for one of `names`
        (> 0), `_WAIT` when more text could still make one, or 0 when none can."""
        i = 0
        while i < len(text) and text[i] in " *":
            i += 1
        if i == len(text):
            return 0 if final else _WAIT
        # Only as much as the longest name is compared: the buffer may hold the whole reply.
        rest = text[i : i + max(map(len, names), default=0)].lower()
        waiting = False
        for name in names:
            if len(rest) < len(name):
                waiting = waiting or (name.startswith(rest) and not final)
                continue
            if not rest.startswith(name):
                continue
            j = i + len(name)
            while j < len(text) and text[j] in " *":
                j += 1
            if j == len(text):
                waiting = waiting or not final
            elif text[j] == ":":
                j += 1
                while j < len(text) and text[j] == "*":  # the closing half of **Name:**
                    j += 1
                if j == len(text) and not final:
                    return _WAIT
                while j < len(text) and text[j] == " ":
                    j += 1
                if j == len(text) and not final:
                    return _WAIT  # the label takes every space after it: more may come
                return j
        return _WAIT if waiting else 0

    def _run(self, *, final: bool) -> str:
        out: list[str] = []
        while self._buf and not self._done:
            if self._line_start or self._after_sentence:
                cut_names = self._cut_line if self._line_start else self._cut_inline
                cut = self._label(self._buf, cut_names, final)
                if cut == _WAIT:
                    break
                if cut > 0:
                    self._done = True
                    self._buf = ""
                    self._pending_ws = ""
                    break
                if self._line_start:
                    own = self._label(self._buf, self._own, final)
                    if own == _WAIT:
                        break
                    if own > 0:
                        self._buf = self._buf[own:]
                        continue
            if self._emitted_any and not (self._line_start or self._after_sentence):
                # Visible characters away from any label position are copied as one run
                # (one slice instead of one per character, or per word): none of them can
                # change a decision; the run stops at a sentence's end, a newline, trailing
                # whitespace and a pending closing quote.
                run = _visible_run(self._close_quote).match(self._buf)
                if run is not None:
                    out.append(self._pending_ws)
                    self._pending_ws = ""
                    out.append(run.group())
                    self._last = self._buf[run.end() - 1]
                    self._buf = self._buf[run.end() :]
                    continue
            ch = self._buf[0]
            self._buf = self._buf[1:]
            if ch.isspace():
                if self._emitted_any:
                    self._pending_ws += ch
                if ch == "\n":
                    self._line_start = True
                    self._after_sentence = False
                elif not self._line_start and self._last in _SENTENCE_END:
                    self._after_sentence = True
                continue
            self._line_start = False
            self._after_sentence = False
            if not self._emitted_any and self._close_quote is None and ch in _QUOTES:
                self._close_quote = _QUOTES[ch]
                continue
            if self._close_quote and ch == self._close_quote:
                self._close_quote = ""  # dropped once; later quotes are kept
                self._last = ch
                continue
            out.append(self._pending_ws)
            self._pending_ws = ""
            out.append(ch)
            self._emitted_any = True
            self._last = ch
        return "".join(out)


def clean_reply(text: str, persona_names: Iterable[str], player_name: str, other_names: Iterable[str] = ()) -> str:
    """A model's reply as the NPC's line (see `StreamCleaner` for the rules). May return an
    empty string, which the caller should treat as a bad reply."""
    cleaner = StreamCleaner(persona_names, player_name, other_names)
    return cleaner.feed(text) + cleaner.finish()


__all__ = [
    "LineLike",
    "StreamCleaner",
    "TuningLike",
    "build_request",
    "clean_reply",
    "relationship_text",
    "render_system",
]
