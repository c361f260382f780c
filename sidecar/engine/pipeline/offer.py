"""Step 6, offer: the player's answer options for the NPC's line.

One home for the sequence every caller shares: the embedded engine composes options for the
line (another seed per re-roll, until they differ from what the game showed), the line
source may offer better ones for a line a provider wrote, and `options.finalize` settles
exactly three distinct, clean ones. Used by a turn (`conversation.say`/`choose`), by a
greeting (`conversation.start`) and by `options.generate`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import replace
from functools import cached_property
from typing import overload

from sidecar.engine import options as option_rules
from sidecar.engine.actions import accept_options
from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.pipeline.draft import Draft
from sidecar.engine.source import EMBEDDED, SEED_STEP, Generated, LineSource, TurnInput
from sidecar.engine.types import Option, TurnContext

REROLL_TRIES = 4
"""Seeds tried per re-roll until the embedded options differ from the ones shown."""


class LazyOptions(Sequence[Option]):
    """The embedded engine's options, composed on first use: on a provider's line they are
    only a fallback, which `options.finalize` reads only when the provider's options do not
    fill the three slots (and `RoutedSource.options` only when the provider gives none)."""

    def __init__(self, make: Callable[[], list[Option]]) -> None:
        self._make = make

    @cached_property
    def _options(self) -> list[Option]:
        return self._make()

    @overload
    def __getitem__(self, index: int) -> Option: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Option]: ...
    def __getitem__(self, index: int | slice) -> Option | Sequence[Option]:
        return self._options[index]

    def __len__(self) -> int:
        return len(self._options)

    def __iter__(self) -> Iterator[Option]:
        return iter(self._options)


class Offer:
    def __init__(self, source: LineSource, engine: EmbeddedEngine) -> None:
        self.source = source
        self.engine = engine

    def embedded(
        self, ctx: TurnContext, npc_line: str, player_line: str | None, *, round_: int = 0, shown: Collection[str] = ()
    ) -> list[Option]:
        """The embedded engine's options; a re-roll (`round_` ≥ 1) moves the seed on until
        their keys differ from `shown` (the keys of the options the game has)."""
        if not round_:
            return self.engine.options(ctx, npc_line, player_line)
        fresh: list[Option] = []
        wanted = set(shown)
        for k in range(round_, round_ + REROLL_TRIES):
            fresh = self.engine.options(replace(ctx, seed=ctx.seed + k * SEED_STEP), npc_line, player_line)
            if {option_rules.key(o.text) for o in fresh} != wanted:
                break
        return fresh

    async def settle(
        self,
        turn: TurnInput,
        line: Generated,
        fallback: Sequence[Option],
        *,
        player_line: str | None,
        name_known: bool = False,
    ) -> list[Option]:
        """The source's candidates for `line`, settled against `fallback` (the embedded ones):
        none offered on this turn or the last ones while others are left, and no "I'm Ana, by
        the way" once the name is known or one was offered."""
        asking = [Option(text, "ask") for text in (*_accepting(turn, line), *turn.asks)]
        candidates = [*asking, *await self.source.options(turn, line, fallback)]
        state = turn.ctx.state
        return option_rules.finalize(
            candidates,
            last_player_line=player_line,
            fallback=fallback,
            avoid=state.recently_offered,
            introduce=not (name_known or turn.ctx.player_name or state.introduced),
        )

    async def __call__(self, draft: Draft) -> list[Option]:
        """A turn's options: none when the conversation ends with this line."""
        gen = draft.generation
        if gen.ending:
            return []
        fallback = LazyOptions(lambda: self.embedded(draft.ctx, gen.text, draft.player_text))
        return await self.settle(
            draft.turn, gen.line, fallback, player_line=draft.player_text, name_known=bool(gen.memory.player_name)
        )

    async def reroll(
        self, turn: TurnInput, npc_line: str, provider: str, *, round_: int, shown: Collection[str]
    ) -> list[Option]:
        """New options for a stored NPC line (`options.generate`): the provider that wrote it
        is asked again; an embedded line gets the embedded engine's next composition."""
        player_line = turn.player_text or None
        fresh = self.embedded(turn.ctx, npc_line, player_line, round_=round_, shown=shown)
        if provider == EMBEDDED:
            return fresh
        line = Generated(npc_line, provider, None, meta={"kind": "remote"})
        return await self.settle(turn, line, fresh, player_line=player_line)


def _accepting(turn: TurnInput, line: Generated) -> tuple[str, ...]:
    """After the NPC named a price (one of its rules' quotes is in the line it said), the
    first option says yes to it. A line that names none (a provider wrote its own) gets none:
    a yes to it would decide nothing."""
    if not any(q in line.text for q in turn.quotes):
        return ()
    lines = accept_options()
    return (lines[turn.ctx.seed % len(lines)],)


__all__ = ["REROLL_TRIES", "LazyOptions", "Offer"]
