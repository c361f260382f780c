"""The embedded engine reacts to the player's stance, not to how the line sounds (issue 11 §4):
grief and bad news get sympathy, a fear gets comfort, never "I didn't mean to upset you"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.personality import tune
from sidecar.engine.phrases import BUNDLED, VOICES
from sidecar.engine.sentiment import analyze
from sidecar.engine.tone import read
from sidecar.engine.types import TurnContext
from sidecar.personas.loader import load_personas
from sidecar.personas.model import Persona

SAMPLES = load_personas(Path(__file__).resolve().parents[2] / "personas").personas
ENGINE = EmbeddedEngine()
SEEDS = range(8)


def _ctx(persona: Persona, seed: int, affinity: int = 50) -> TurnContext:
    return TurnContext(persona=persona, player="Ana", affinity=affinity, seed=seed, turn=1)


def _bank(voice: str, key: str) -> set[str]:
    """Each line's longest stretch without a placeholder (what any rendering of it contains)."""
    return {max(re.split(r"\{\w+\}", line), key=len).strip(" ,") for line in BUNDLED("react", voice, key)}


def _says_one_of(text: str, bank: set[str]) -> bool:
    return any(start and start in text for start in bank)


@pytest.mark.parametrize("pid", sorted(SAMPLES))
def test_grief_is_answered_with_sympathy_never_as_rudeness(pid: str) -> None:
    persona = SAMPLES[pid]
    line = "My mother died last week."
    for seed in SEEDS:
        ctx = _ctx(persona, seed)
        voice = tune(persona, ctx.affinity).voice
        c = ENGINE.reply(ctx, line, analyze(line), read(line, persona.names))
        assert "care:sympathy" in c.notes and "tone:neutral" in c.notes
        assert _says_one_of(c.text, _bank(voice, "sympathy")), c.text
        assert not _says_one_of(c.text, _bank(voice, "rude")), c.text
        assert not any(a in c.text for a in BUNDLED("asides", voice)), c.text


@pytest.mark.parametrize("pid", sorted(SAMPLES))
def test_a_fear_is_answered_with_comfort(pid: str) -> None:
    persona = SAMPLES[pid]
    line = "I'm scared of the dark forest."
    ctx = _ctx(persona, 1)
    c = ENGINE.reply(ctx, line, analyze(line), read(line, persona.names))
    assert "care:comfort" in c.notes
    assert _says_one_of(c.text, _bank(tune(persona, ctx.affinity).voice, "comfort")), c.text


def test_without_a_reading_the_engine_reads_the_stance_itself() -> None:
    persona = SAMPLES["ansel"]
    line = "The mill burned down last night."
    c = ENGINE.reply(_ctx(persona, 2), line, analyze(line))
    assert "care:sympathy" in c.notes and "tone:rude" not in c.notes


def test_a_guarded_npc_is_curt_but_still_sympathetic() -> None:
    persona = SAMPLES["goldie"]
    line = "We buried my father this morning."
    c = ENGINE.reply(_ctx(persona, 3, affinity=5), line, analyze(line), read(line, persona.names))
    assert any(g in c.text for g in BUNDLED("guarded_react", "sympathy")), c.text


def test_an_insult_is_still_rude_and_a_compliment_friendly() -> None:
    persona = SAMPLES["goldie"]
    rude = ENGINE.reply(_ctx(persona, 1), "You are a useless old hag.", analyze("You are a useless old hag."))
    kind = ENGINE.reply(_ctx(persona, 1), "You do wonderful work.", analyze("You do wonderful work."))
    assert "tone:rude" in rude.notes and not any(n.startswith("care:") for n in rude.notes)
    assert "tone:friendly" in kind.notes


def test_vader_s_comparison_praise_is_not_answered_as_a_compliment() -> None:
    persona = SAMPLES["goldie"]
    line = "Your ale tastes like dishwater."
    c = ENGINE.reply(_ctx(persona, 4), line, analyze(line))
    assert analyze(line).label == "positive"
    assert "tone:friendly" not in c.notes
    assert not _says_one_of(c.text, _bank("outgoing", "friendly"))


def test_every_voice_has_sympathy_and_comfort() -> None:
    for voice in VOICES:
        assert BUNDLED("react", voice, "sympathy") and BUNDLED("react", voice, "comfort")


def test_no_dry_or_bright_opener_before_sympathy_and_no_fallback_after_it() -> None:
    for pid in ("hesper", "goldie"):
        persona = SAMPLES[pid]
        openers = [*BUNDLED("dry_openers"), *BUNDLED("bright_openers")]
        line = "The mill burned down last night."
        for seed in SEEDS:
            c = ENGINE.reply(_ctx(persona, seed), line, analyze(line), read(line, persona.names))
            assert not any(c.text.startswith(o) for o in openers), c.text
            if "core:care" in c.notes:
                assert not any(f in c.text for f in persona.fallbacks), c.text
