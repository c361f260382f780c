"""One engine call: the context, tuning, phrase tables, memory and the no-repeat window, with
the seeded choices every composition makes (`pick`, `pick_fresh_line`, `finish`) and the
voice's finishing touches (`shape`, `sprinkle`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from sidecar.engine.compose.memory import WorkingMemory
from sidecar.engine.compose.sentence import (
    SAFE_TO_LOWER,
    Draft,
    end_with,
    fill_template,
    name_like,
    render_persona_line,
)
from sidecar.engine.personality import Tuning, tune
from sidecar.engine.phrases import VOICES
from sidecar.engine.phrases import for_persona as phrases_for
from sidecar.engine.text import chars_for_tokens, holds, normalize, reseed
from sidecar.engine.types import TurnContext

_T = TypeVar("_T")

NO_REPEAT_WINDOW = 8
"""How many of the NPC's most recent lines a new line may not repeat."""
_ATTEMPTS = 6


class Call:
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
        self.mem = WorkingMemory.load(ctx.state.engine)
        self.ph = phrases_for(ctx.persona)
        own = [normalize(line.text) for line in ctx.history if line.speaker == ctx.persona.id]
        self.recent: set[str] = set(own[-NO_REPEAT_WINDOW:]) | set(self.mem.said[-NO_REPEAT_WINDOW:])
        self.recent.discard("")

    # -- helpers -----------------------------------------------------------------------------

    def rng(self, attempt: int) -> random.Random:
        return reseed(self.ctx.seed, self.ctx.turn, self.persona.id, self.purpose, attempt)

    def known_name(self, mem: WorkingMemory) -> str | None:
        """The player's name as the NPC knows it: told in the talk, else the display name the
        game gave at `conversation.start`."""
        return mem.name or self.ctx.state.player_name

    def name_for_addressing(self, mem: WorkingMemory) -> str:
        known = self.known_name(mem)
        if known:
            return known
        return self.ctx.player.strip() if name_like(self.ctx.player) else ""

    def player_word(self, mem: WorkingMemory) -> str:
        return self.name_for_addressing(mem) or "traveller"

    def fill(self, template: str, mem: WorkingMemory, addr: str = "", **values: str) -> str:
        return fill_template(template, addr, npc=self.persona.name, role=self.persona.role,
                     pname=self.known_name(mem) or "", **values)

    def render(self, line: str, mem: WorkingMemory) -> str:
        return render_persona_line(line, self.persona.name, self.player_word(mem))

    def pick(self, rng: random.Random, choices: Sequence[str], mem: WorkingMemory | None = None,
             addr: str = "", **values: str) -> str:
        """A bank phrase (filled in, when `mem` is given), preferring ones not heard in the
        recent window."""
        filled = [self.fill(c, mem, addr, **values) for c in choices] if mem is not None else list(choices)
        fresh = [c for c in filled if not any(normalize(c) in said for said in self.recent)]
        return rng.choice(fresh or filled)

    def said_recently(self, text: str) -> bool:
        """Whether `text` was part of one of the NPC's lines in the no-repeat window (the rule
        of `text.holds`, inlined: `recent` is already normalized, and this runs per candidate
        line on every turn)."""
        key = f" {normalize(text)} "
        return key.strip() != "" and any(key in f" {said} " for said in self.recent)

    def just_said(self, lines: Sequence[str], mem: WorkingMemory) -> bool:
        """Whether the NPC's last line held one of `lines` (after a joke, "Another one!" asks
        for another joke)."""
        last = next((line.text for line in reversed(self.ctx.history) if line.speaker == self.persona.id), "")
        return any(holds(last, self.render(x, mem)) for x in lines)

    def pick_line(self, rng: random.Random, lines: Sequence[str], mem: WorkingMemory) -> str:
        """A persona line (rendered), rotating: unused lines first, else the least recently
        used; a line said within the window only when nothing else is left."""
        return self.pick_fresh_line(rng, lines, mem, allow_recent=True) or ""

    def pick_fresh_line(self, rng: random.Random, lines: Sequence[str], mem: WorkingMemory, *,
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

    def finish(self, draft_for: Callable[[random.Random, WorkingMemory], tuple[str, _T]], *,
               notes: list[str]) -> tuple[str, WorkingMemory, _T]:
        """Run `draft_for(rng, mem)` (each attempt with its own rng and a copy of memory)
        until a line outside the no-repeat window comes out; if every attempt collides, change
        the subject with a line that is not in the window."""
        last: tuple[str, WorkingMemory, _T] | None = None
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

    def sprinkle(self, rng: random.Random, draft: Draft, mem: WorkingMemory,
                 about: str | None = None) -> None:
        """At most one speech quirk or catchphrase, and not on consecutive turns. `about`: the
        topic or opinion key the reply is about (a catchphrase with `topics` needs it). A
        catchphrase goes before a question the NPC asks, not after it: the question is what the
        player answers ("What about you? You heard it from the walls." reads as glued on).

        Quirks come in several shapes, each placed where it reads naturally: an action
        ("*winks*") or a sentence ("Hm.") stands alone; "…if that's alright." trails the core;
        "(as it happens)" and "— that rhymes —" are tucked in before its final stop; a lead-in
        ("Strictly speaking,") opens it; a tag ("darling") closes it after a comma.
        """
        speech = self.persona.speech
        if self.ctx.turn - mem.quirk_turn < 2 or rng.random() >= self.knobs.quirk_rate:
            return
        catchphrases = speech.catchphrases_about(about)
        pool = [*speech.quirks, *catchphrases]
        if not pool or not draft.core:
            return
        # A line that already speaks one of the standalone quirks gets no second: "Thrilling.
        # Traveller. Marvellous. Another visitor." (the captain's greeting holds "Marvellous.").
        spoken = f"{draft.opener} {draft.core} {' '.join(draft.extras)}".lower()
        if any(_standalone(q) and q.strip().lower() in spoken for q in speech.quirks):
            return
        picked = self.pick(rng, pool).strip()
        catchphrase = picked in catchphrases
        phrase = self.render(picked, mem)
        core = draft.core.rstrip()
        end = core[-1] if core[-1] in ".!?…" else "."
        body = core[:-1] if core[-1] in ".!?…" else core
        if catchphrase or phrase.startswith("*") or (
            re.search(r"[.!?…]$", phrase) and not phrase.startswith("…")
        ):
            if not catchphrase and not draft.opener and not draft.news and rng.random() < 0.5:
                draft.lead = phrase
            elif catchphrase and draft.question:
                draft.extras.append(phrase)
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
            if first.lower().strip(",") not in SAFE_TO_LOWER:
                return
            draft.core = f"{phrase} {first.lower()}{core[len(first):]}"
        else:
            draft.core = f"{body}, {phrase}{end}"
        mem.quirk_turn = self.ctx.turn

    def shape(self, rng: random.Random, draft: Draft) -> None:
        """The voice's signature, always visible: shy hesitates, sarcastic is dry."""
        k = self.knobs
        if draft.news:
            return  # the news opens the line: "Thanks for the coin. Um… oh…" stacks openers
        if (draft.somber or draft.punchline) and self.voice != "shy":
            return  # "Oh, wonderful. I'm sorry." is mockery; a shy hesitation is not
        if self.voice == "shy":
            already = "…" in draft.reaction + draft.ack + draft.core
            chance = k.hesitation * (0.3 if already else 1.0)
            if rng.random() < chance or not (already or draft.core.endswith(".")):
                draft.opener = rng.choice(self.ph("hesitations"))
            elif not already and not draft.punchline:  # "…The anvil…" trails off the punchline
                draft.core = end_with(draft.core, "…")
        elif self.voice == "sarcastic":
            if not draft.aside and not draft.reaction:
                draft.opener = self.pick(rng, self.ph("dry_openers"))
        elif self.voice == "outgoing":
            if rng.random() < k.exclamation:
                draft.core = end_with(draft.core, "!")
            if rng.random() < k.exclamation * 0.4 and not draft.reaction:
                draft.opener = rng.choice(self.ph("bright_openers"))
        elif self.voice == "intellectual":
            if not draft.aside and rng.random() < 0.4:
                draft.opener = self.pick(rng, self.ph("measured_openers"))


def _standalone(quirk: str) -> bool:
    """A quirk said as a sentence or an action of its own ("Marvellous.", "*sighs*"), not a
    tag or an aside woven into the line ("petal", "(as it happens)")."""
    q = quirk.strip()
    return len(q.strip(" .!?…*")) > 3 and (q.startswith("*") or q[-1:] in ".!?…") and not q.startswith("…")


__all__ = ["Call", "NO_REPEAT_WINDOW"]
