"""Answer options asked for with the NPC's line: one provider call per turn instead of two.

The line request carries `instruction()`: after the spoken line the model writes a marker
line (`MARKER`) and the three `ask:/share:/leave:` lines that `options.parse` reads. `Split`
wraps the stream cleaner: it passes the spoken part through as it streams (so `line.delta`
events carry the line as it arrives) and holds back everything from the marker on, which
never reaches the game, the stored line or the quality gate. A model that skips the marker
but starts a line with `ask:` is split there too.

What can fail: a model that ignores the instruction gives no block (`Split.block` is None),
and a reply cut by `max_tokens` may end inside it; in both cases the caller asks for the
options in a separate call, as before. The block may later carry more fields (an
`emotion:` line is reserved for the NPC's proposed emotion); `options()` ignores them.
"""

from __future__ import annotations

from sidecar.engine import options as option_rules
from sidecar.engine.types import Option
from sidecar.llm.router import TextFilter

MARKER = "[options]"
STARTS = (MARKER, "\nask:")
"""Where the block begins (matched case-insensitively): the marker, or a model that forgot it
and wrote the first option on its own line."""
EXTRA_TOKENS = 80
"""Added to the line's `max_tokens` for the block (three lines of at most ten words)."""
RESERVED = ("emotion:",)
"""Block lines that are not options."""


def instruction(persona_name: str) -> str:
    """The system-prompt hint asking for the options after the line."""
    return (
        f"After {persona_name}'s line, write a line with only {MARKER} and then three short "
        "replies the player could say next (5 to 10 words each, in the player's own voice, all "
        "different), one per line, exactly as:\n"
        f"ask: <a curious follow-up question about what {persona_name} said>\n"
        "share: <a related personal remark>\n"
        "leave: <a natural change of topic or a goodbye>"
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


def options(block: str) -> list[Option]:
    """The usable options in a block (possibly none)."""
    body = block[len(MARKER) :] if block.lower().startswith(MARKER) else block
    lines = [ln for ln in body.splitlines() if not ln.strip().lower().startswith(RESERVED)]
    return option_rules.parse("\n".join(lines))


__all__ = ["EXTRA_TOKENS", "MARKER", "STARTS", "Split", "instruction", "options"]
