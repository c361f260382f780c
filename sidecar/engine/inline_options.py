"""Answer options asked for with the NPC's line: one provider call per turn instead of two.

The line request carries `instruction()`: after the spoken line the model writes a marker
line (`MARKER`) and the three `ask:/share:/leave:` lines that `options.parse` reads. `Split`
wraps the stream cleaner: it passes the spoken part through as it streams (so `line.delta`
events carry the line as it arrives) and holds back everything from the marker on, which
never reaches the game, the stored line or the quality gate. A model that skips the marker
but starts a line with `ask:` is split there too.

When the player's line gives the rules something to remember (`remember.worth_asking_before`)
and the provider's `memory_in_line` allows it, the block also carries a `memory:` line: the
turn's long-term memories as the extraction call's JSON (`remember.EXTRACTION_SCHEMA`, same
wording, same validation), so a memorable turn costs one provider call, not two.

What can fail: a model that ignores the instruction gives no block (`Split.block` is None),
and a reply cut by `max_tokens` may end inside it; in both cases the caller asks for the
options (and the memories) in a separate call, as before; so does a block whose `memory:`
line is missing or not that JSON.

The block also asks for an `emotion:` line: the face the NPC says its line with, one of the
eight (`emotion(block)`; engine/emotion.py `settle` takes it only if it is one of them, and
derives one otherwise). `options()` ignores it and the memory line.
"""

from __future__ import annotations

import json
import re

from sidecar.engine import options as option_rules
from sidecar.engine import remember as memory_rules
from sidecar.engine.emotion import EMOTIONS
from sidecar.engine.types import Option
from sidecar.llm.router import TextFilter
from sidecar.store.memory import NewMemory

MARKER = "[options]"
MEMORY = "memory:"
EMOTION = "emotion:"
STARTS = (MARKER, "\nask:", "\n" + MEMORY, "\n" + EMOTION)
"""Where the block begins (matched case-insensitively): the marker, or a model that forgot it
and wrote the first option (or the memory line) on its own line."""
EXTRA_TOKENS = 90
"""Added to the line's `max_tokens` for the block (three lines of at most ten words, and the
emotion line)."""
MEMORY_TOKENS = 160
"""Added to `max_tokens` when the memory line is asked for (up to six short memories)."""
RESERVED = (EMOTION,)
"""Block lines that are not options."""
_MEMORY_LINE = re.compile(r"^[ \t]*memory[ \t]*:", re.IGNORECASE | re.MULTILINE)
_EMOTION_LINE = re.compile(r"^[ \t]*emotion[ \t]*:[ \t]*\**[ \t]*([A-Za-z]+)", re.IGNORECASE | re.MULTILINE)
_FENCE = re.compile(r"```(?:json)?\s*")
_JSON = json.JSONDecoder()


def instruction(persona_name: str, *, memories: bool = False) -> str:
    """The system-prompt hint asking for the options after the line, and with `memories`
    the memory line after them."""
    text = (
        f"After {persona_name}'s line, write a line with only {MARKER} and then three short "
        "replies the player could say next (5 to 10 words each, in the player's own voice, all "
        "different), one per line, exactly as:\n"
        f"ask: <a curious follow-up question about what {persona_name} said>\n"
        "share: <a related personal remark>\n"
        "leave: <a natural change of topic or a goodbye>\n"
        f"{EMOTION} <how {persona_name} feels saying the line: one word of {', '.join(EMOTIONS)}>"
    )
    if not memories:
        return text
    return (
        f"{text}\nThen one last line, {MEMORY} followed on the same line by what {persona_name} keeps "
        f"in long-term memory from the player's line and {persona_name}'s answer, as JSON. "
        + memory_rules.extraction_guidance(persona_name)
    )


def _block_start(lowered: str) -> int:
    found = [i for i in (lowered.find(s) for s in STARTS) if i >= 0]
    return min(found) if found else -1


def _held(lowered: str) -> int:
    """How many trailing characters could still grow into a block start."""
    for n in range(min(len(lowered), max(len(s) for s in STARTS) - 1), 0, -1):
        tail = lowered[-n:]
        if any(s.startswith(tail) for s in STARTS):
            return n
    return 0


class Split:
    """A `TextFilter` that feeds the spoken part of a reply to `inner` (the stream cleaner)
    and keeps the options block back in `block`."""

    def __init__(self, inner: TextFilter) -> None:
        self._inner = inner
        self._buf = ""
        self._block: list[str] | None = None

    @property
    def block(self) -> str | None:
        """The text after the block start; None when the reply had no block."""
        return None if self._block is None else "".join(self._block)

    def feed(self, chunk: str) -> str:
        if self._block is not None:
            self._block.append(chunk)
            return ""
        self._buf += chunk
        lowered = self._buf.lower()
        start = _block_start(lowered)
        if start >= 0:
            spoken, self._block = self._buf[:start], [self._buf[start:]]
            self._buf = ""
            return self._inner.feed(spoken)
        keep = _held(lowered)
        spoken, self._buf = (self._buf[:-keep], self._buf[-keep:]) if keep else (self._buf, "")
        return self._inner.feed(spoken) if spoken else ""

    def finish(self) -> str:
        rest, self._buf = self._buf, ""
        return (self._inner.feed(rest) if rest else "") + self._inner.finish()


def _memory_span(block: str) -> tuple[int, int, object] | None:
    """Where the memory line's JSON is in `block` (start of the `memory:` line, end of its
    JSON value) and that value (None when it is not JSON: the span ends with the line)."""
    found = _MEMORY_LINE.search(block)
    if found is None:
        return None
    at = found.end()
    rest = block[at:]
    lead = len(rest) - len(rest.lstrip())
    fence = _FENCE.match(rest, lead)
    if fence is not None:
        lead = fence.end()
    try:
        value, end = _JSON.raw_decode(rest, lead)
    except ValueError:
        line_end = block.find("\n", at)
        return found.start(), len(block) if line_end < 0 else line_end, None
    close = _FENCE.match(rest, end + len(rest[end:]) - len(rest[end:].lstrip()))
    return found.start(), at + (close.end() if close is not None else end), value


def memories(block: str) -> list[NewMemory] | None:
    """The turn's memories from the block's memory line (a valid empty list: nothing worth
    remembering); None when the block has no such line or it is not the extraction's JSON."""
    span = _memory_span(block)
    return memory_rules.extracted(span[2]) if span is not None and span[2] is not None else None


def emotion(block: str) -> str | None:
    """The word of the block's emotion line, as the model wrote it (the caller accepts it only
    if it is one of the eight); None without one."""
    found = _EMOTION_LINE.search(block)
    return found.group(1) if found is not None else None


def options(block: str) -> list[Option]:
    """The usable options in a block (possibly none)."""
    body = block[len(MARKER) :] if block.lower().startswith(MARKER) else block
    span = _memory_span(body)
    if span is not None:  # the JSON may span lines: none of them is an option
        body = body[: span[0]] + body[span[1] :]
    lines = [ln for ln in body.splitlines() if not ln.strip().lower().startswith(RESERVED)]
    return option_rules.parse("\n".join(lines))


__all__ = [
    "EMOTION",
    "EXTRA_TOKENS",
    "MARKER",
    "MEMORY",
    "MEMORY_TOKENS",
    "STARTS",
    "Split",
    "emotion",
    "instruction",
    "memories",
    "options",
]
