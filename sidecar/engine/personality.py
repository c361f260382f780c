"""Personality tuning (seed §3): presets, preset inference from traits, affinity shaping.

One `Tuning` per turn feeds both kinds of generator: LLM providers read `temperature`,
`frequency_penalty`, `max_tokens` and `style_text`; the embedded engine reads `voice` and the
`knobs` (how long, how hesitant, how many exclamations, how sarcastic, how often it asks back).

Fixed against the seed: its preset dicts were shared and mutated by the affinity adjustment
(every call drifted the preset further); here presets are frozen and `tune` builds new values,
clamped to the ranges the persona schema allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from sidecar.engine.data import phrase_lists, read_toml
from sidecar.personas.model import PRESETS as VOICES
from sidecar.personas.model import Persona

Band = Literal["guarded", "neutral", "close"]

CLOSE_ABOVE = 80
"""Affinity above which the NPC is more expressive and talkative (seed §3)."""
GUARDED_BELOW = 20
"""Affinity below which the NPC is more guarded and brief (seed §3)."""

TEMPERATURE_RANGE = (0.0, 2.0)
FREQUENCY_PENALTY_RANGE = (-2.0, 2.0)
MAX_TOKENS_RANGE = (16, 1024)


@dataclass(frozen=True)
class Preset:
    """Generation parameters of one personality (seed §3 values for the built-in five)."""

    name: str
    temperature: float
    frequency_penalty: float
    max_tokens: int
    style: str


PRESETS: MappingProxyType[str, Preset] = MappingProxyType(
    {
        "shy": Preset("shy", 0.6, 0.3, 80, "brief and hesitant"),
        "outgoing": Preset("outgoing", 0.9, 1.2, 150, "enthusiastic and detailed"),
        "intellectual": Preset("intellectual", 0.7, 1.0, 140, "thoughtful and articulate"),
        "flirty": Preset("flirty", 0.8, 0.8, 100, "playful with subtle innuendo"),
        "sarcastic": Preset("sarcastic", 0.85, 1.1, 90, "witty and slightly mocking"),
    }
)
DEFAULT_PRESET = "outgoing"
"""The seed's default when no rule matches."""


@dataclass(frozen=True)
class StyleKnobs:
    """How the embedded engine shapes a reply. Chances are 0..1 per reply."""

    max_parts: int
    """Sentences the reply may hold besides its core (reactions, asides, questions)."""
    target_words: int
    """Soft length cap: extra parts stop being added past this many words."""
    hesitation: float
    """Chance of hesitant openers ("Oh— um…") and trailing ellipses."""
    exclamation: float
    """Chance of ending the core with "!" instead of "."."""
    sarcasm: float
    """Chance of a dry, mocking aside."""
    playfulness: float
    """Chance of a teasing, flirty tag."""
    qualifying: float
    """Chance of a measured, qualifying remark."""
    asks_back: float
    """Chance of ending with a question to the player."""
    warmth: float
    """0 (cold) .. 1 (warm): picks between guarded and warm wordings."""
    quirk_rate: float
    """Chance of sprinkling one of the persona's speech quirks."""


@dataclass(frozen=True)
class Tuning:
    """Everything a generator needs to speak in this persona's manner at this affinity."""

    preset: str
    """The preset in effect: a built-in name or `custom`."""
    voice: str
    """The built-in preset whose manner the embedded engine imitates (for `custom`: inferred)."""
    temperature: float
    frequency_penalty: float
    max_tokens: int
    style_text: str
    """For LLM prompts (`{style}`): the preset's style plus the affinity mood, if any."""
    band: Band
    knobs: StyleKnobs


_BASE_KNOBS: MappingProxyType[str, StyleKnobs] = MappingProxyType(
    {
        "shy": StyleKnobs(1, 0, 0.9, 0.0, 0.0, 0.0, 0.0, 0.15, 0.5, 0.15),
        "outgoing": StyleKnobs(3, 0, 0.0, 0.7, 0.0, 0.1, 0.0, 0.45, 0.5, 0.25),
        "intellectual": StyleKnobs(2, 0, 0.05, 0.05, 0.05, 0.0, 0.5, 0.3, 0.5, 0.2),
        "flirty": StyleKnobs(2, 0, 0.05, 0.3, 0.05, 0.5, 0.0, 0.4, 0.5, 0.2),
        "sarcastic": StyleKnobs(2, 0, 0.0, 0.05, 0.45, 0.05, 0.05, 0.2, 0.5, 0.2),
    }
)

_STYLE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    phrase_lists(read_toml("words.toml"), "words.toml", "style_stems", VOICES).items()
)
"""Voice → word starts of a custom style that pick it; the first voice that matches wins."""


def _clamp(value: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, value))


def infer_preset(persona: Persona) -> str:
    """The preset name: the persona's own (`custom` included) wins, else the seed's rules.

    Seed §3, in order: social > 70 → outgoing, intelligence > 70 → intellectual,
    social < 30 → shy, otherwise outgoing.
    """
    named = persona.personality.preset
    if named is not None:
        return named
    traits = persona.personality.traits
    if traits.social > 70:
        return "outgoing"
    if traits.intelligence > 70:
        return "intellectual"
    if traits.social < 30:
        return "shy"
    return DEFAULT_PRESET


def preset_for(persona: Persona) -> Preset:
    """The persona's preset values: a built-in one, or its `[personality.custom]` table."""
    name = infer_preset(persona)
    custom = persona.personality.custom
    if name == "custom" and custom is not None:
        return Preset("custom", custom.temperature, custom.frequency_penalty, custom.max_tokens,
                      custom.style)
    return PRESETS.get(name, PRESETS[DEFAULT_PRESET])


def voice_for(persona: Persona) -> str:
    """The built-in manner the embedded engine uses. For a custom preset, words in its style
    text decide ("dry and mocking" → sarcastic); failing that, the trait rules do."""
    name = infer_preset(persona)
    if name in PRESETS:
        return name
    style = preset_for(persona).style.lower()
    for voice, stems in _STYLE_WORDS:
        if any(stem in style for stem in stems):
            return voice
    traits = persona.personality.traits
    if traits.social > 70:
        return "outgoing"
    if traits.intelligence > 70:
        return "intellectual"
    if traits.social < 30:
        return "shy"
    return DEFAULT_PRESET


def band_for(affinity: int) -> Band:
    """`close` above 80, `guarded` below 20, else `neutral` (seed §3 thresholds)."""
    if affinity > CLOSE_ABOVE:
        return "close"
    if affinity < GUARDED_BELOW:
        return "guarded"
    return "neutral"


_TUNED: dict[tuple[int, int], tuple[Persona, Tuning]] = {}
_TUNED_MAX = 4_096


def tune(persona: Persona, affinity: int) -> Tuning:
    """Parameters for one turn. Affinity > 80: temperature +0.1, max_tokens +20, "more
    expressive and talkative"; < 20: −0.1, −20, "guarded and brief". Never fails: affinity
    outside 0..100 is clamped first, and results are clamped to the schema's ranges.

    A turn asks for the same tuning three times (the read, the reply, the options), so results
    are kept per persona (by identity: personas are immutable once loaded, and the entry holds
    the persona, so its id cannot be reused while cached) and clamped affinity."""
    affinity = int(_clamp(affinity, 0, 100))
    hit = _TUNED.get((id(persona), affinity))
    if hit is not None and hit[0] is persona:
        return hit[1]
    if len(_TUNED) >= _TUNED_MAX:
        _TUNED.clear()
    tuning = _tune(persona, affinity)
    _TUNED[(id(persona), affinity)] = (persona, tuning)
    return tuning


def _tune(persona: Persona, affinity: int) -> Tuning:
    preset = preset_for(persona)
    voice = voice_for(persona)
    band = band_for(affinity)
    temperature, max_tokens, style = preset.temperature, preset.max_tokens, preset.style
    if band == "close":
        temperature, max_tokens = temperature + 0.1, max_tokens + 20
        style = f"{style}; more expressive and talkative"
    elif band == "guarded":
        temperature, max_tokens = temperature - 0.1, max_tokens - 20
        style = f"{style}; guarded and brief"
    temperature = round(_clamp(temperature, *TEMPERATURE_RANGE), 3)
    max_tokens = int(_clamp(max_tokens, *MAX_TOKENS_RANGE))
    penalty = _clamp(preset.frequency_penalty, *FREQUENCY_PENALTY_RANGE)
    return Tuning(
        preset=preset.name,
        voice=voice,
        temperature=temperature,
        frequency_penalty=penalty,
        max_tokens=max_tokens,
        style_text=style,
        band=band,
        knobs=_knobs(persona, voice, band, affinity, max_tokens),
    )


def _knobs(persona: Persona, voice: str, band: Band, affinity: int, max_tokens: int) -> StyleKnobs:
    base = _BASE_KNOBS[voice]
    traits = persona.personality.traits
    humor = max(0.0, (traits.humor - 50) / 250)
    parts, hes, exc, asks, play = (
        base.max_parts, base.hesitation, base.exclamation, base.asks_back, base.playfulness
    )
    if band == "guarded":
        parts, exc, asks, play = parts - 1, exc * 0.5, asks * 0.3, play * 0.3
    elif band == "close":
        parts, hes, exc, asks, play = parts + 1, hes * 0.6, exc + 0.15, asks + 0.2, play + 0.1
    warmth = 0.7 * affinity / 100 + 0.3 * traits.warmth / 100
    return StyleKnobs(
        max_parts=max(0, parts),
        target_words=max(8, round(max_tokens * 0.45)),
        hesitation=_clamp(hes, 0, 1),
        exclamation=_clamp(exc, 0, 1),
        sarcasm=_clamp(base.sarcasm + humor, 0, 1),
        playfulness=_clamp(play + humor / 2, 0, 1),
        qualifying=_clamp(base.qualifying, 0, 1),
        asks_back=_clamp(asks, 0, 1),
        warmth=round(_clamp(warmth, 0, 1), 3),
        quirk_rate=_clamp(base.quirk_rate, 0, 1),
    )


__all__ = [
    "CLOSE_ABOVE",
    "DEFAULT_PRESET",
    "GUARDED_BELOW",
    "PRESETS",
    "Band",
    "Preset",
    "StyleKnobs",
    "Tuning",
    "band_for",
    "infer_preset",
    "preset_for",
    "tune",
    "voice_for",
]
