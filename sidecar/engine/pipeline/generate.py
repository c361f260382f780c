"""Step 3, generate: the NPC's line through the quality gate, streamed as it is produced.

Each attempt asks the line source (attempt 0, then retries that must differ); each line is
scored (sidecar/engine/quality.py) and the gate keeps the best. With streaming on, the
game sees `line.delta` events as text arrives; text of an attempt the gate rejects is
withdrawn with `line.reset` before the next attempt streams, and if the kept line is not the
one streamed last it is reset and streamed again, so the deltas since the last reset are
always the stored line. Only this step runs under the game's cancel token: a cancelled turn
stores nothing.

What the kept line leaves behind (the engine's memory, the topic, whether the talk ends)
comes from the embedded composition when the embedded engine wrote the line, and from
`observe` when a provider did: the composition is never made just to be thrown away.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from sidecar.engine import quality as quality_rules
from sidecar.engine.cancel import until_cancelled
from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.pipeline.draft import Draft, Generation
from sidecar.engine.source import Emit, Generated, LineSource, chunks
from sidecar.engine.state import EngineMemory
from sidecar.engine.types import PLAYER, Line


class Generate:
    def __init__(self, source: LineSource, gate: quality_rules.QualityGate, engine: EmbeddedEngine) -> None:
        self.source = source
        self.gate = gate
        self.engine = engine

    def scorer(
        self, draft: Draft, invalid: Callable[[str], Sequence[str]] = lambda _: ()
    ) -> Callable[[str], quality_rules.Quality]:
        history = draft.ctx.history + (Line(PLAYER, draft.player_text),)

        def score(line: str) -> quality_rules.Quality:
            return quality_rules.score(
                line,
                persona=draft.speaker,
                history=history,
                preset_max_tokens=draft.tuning.max_tokens,
                player_name=draft.ctx.player_name or draft.conversation.player_id,
                other_names=draft.turn.other_names,
                invalid_actions=invalid(line),
            )

        return score

    async def __call__(
        self,
        draft: Draft,
        *,
        stream: bool,
        emit: Emit,
        action_problems: Callable[[Generated], Sequence[str]] | None = None,
    ) -> Generation:
        """Raises `Cancelled` (the game cancelled the turn) and the source's `ProviderError`
        when attempt 0 fails (a retry's failure only ends the retries). `action_problems`:
        why the actions proposed with a line are invalid (each costs the line points)."""
        generated: dict[int, Generated] = {}
        streamed = False

        async def on_delta(chunk: str) -> None:
            nonlocal streamed
            streamed = True
            await emit("line.delta", {"text": chunk})

        async def attempt(n: int) -> str:
            nonlocal streamed
            if n and streamed:
                await emit("line.reset", {"reason": "quality", "attempt": n})
                streamed = False
            turn = draft.turn
            if n and action_problems is not None and (earlier := action_problems(generated[max(generated)])):
                # The retry is told why the last attempt's actions were dropped.
                turn = replace(turn, action_problems=tuple(earlier))
            g = await self.source.generate(turn, n, on_delta=on_delta if stream else None, emit=emit)
            generated[n] = g
            return g.text

        def invalid(text: str) -> Sequence[str]:
            # The gate scores each attempt right after making it: the newest is this text.
            latest = generated[max(generated)]
            return action_problems(latest) if action_problems is not None and latest.text == text else ()

        gate = await until_cancelled(self.gate.run(attempt, self.scorer(draft, invalid)))
        best = next(g for g in generated.values() if g.text == gate.best_text)
        if stream and gate.best_text != generated[max(generated)].text:
            # The kept line is not the one streamed last: show the kept one.
            await emit("line.reset", {"reason": "quality", "attempt": max(generated)})
            for chunk in chunks(best.text):
                await emit("line.delta", {"text": chunk})
        memory, topic, ending = self.observe(draft, best)
        return Generation(best, gate.best_quality, gate.retries, memory, topic, ending)

    def observe(self, draft: Draft, line: Generated) -> tuple[EngineMemory, str | None, bool]:
        """(memory, topic, ending) after `line`: the composition's own when the embedded
        engine wrote it, else the engine's observation of the line a provider wrote."""
        made = line.composition or self.engine.observe(draft.ctx, draft.player_text, line.text)
        return made.memory, made.topic, made.ending


__all__ = ["Generate"]
