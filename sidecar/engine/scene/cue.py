"""What one NPC line of a scene is told about the scene (issue 14): the `SceneCue`.

The director (one scene line at a time) asks the turn-taker who speaks and to whom
(`turns.Turn`), then hands the speaker's line source a cue on `TurnInput.scene`:

    speaker       the persona id of the NPC who speaks this line
    addressed_to  the persona ids it speaks to (empty: the player)
    present       the other NPCs in earshot (their names, roles and aliases)
    stance        how the speaker stands toward the (first) addressee: the relationship's
                  kind, NPC↔NPC affinity, and the leaning the line takes (agree, argue, neutral)
    answering     the line it answers (the player's, or the NPC line before it)

One-to-one turns have no cue (`TurnInput.scene` is None) and are unchanged. An LLM is given the
cue as one instruction (`instruction`, the seed's injection: "address <next> by name; you are
<speaker>; speak only for yourself"); the embedded engine composes from it
(compose/scene.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sidecar.engine import tone as tones
from sidecar.engine.types import PLAYER
from sidecar.personas.model import Persona

Leaning = Literal["agree", "argue", "neutral"]

ARGUE_KINDS = frozenset({"rival", "enemy"})
"""Relationship kinds that argue whatever the affinity (rivals argue longer, issue 14 §3)."""
AGREE_AT = 60
"""NPC↔NPC affinity at or above which a speaker agrees with the one it answers."""
ARGUE_BELOW = 35
"""NPC↔NPC affinity below which a speaker argues with the one it answers."""
STUNG = -0.55
"""The stance (engine/tone.py) of an answered line at or below which anyone argues back: an
insult, contempt or a threat. Sarcasm and teasing (-0.5) are not enough: tone.py's lexicon is
made for players' lines, and an NPC's dry "as if she does" reads as sarcasm."""
TOUCHED = 0.3
"""The stance of an answered line at or above which nobody argues with it: a compliment aimed
at the speaker ("Goldie is a queen among innkeepers")."""


@dataclass(frozen=True)
class Stance:
    """How the speaker stands toward the one it addresses."""

    toward: str
    """Persona id, or `PLAYER`."""
    kind: str | None
    """The relationship's kind from the speaker's persona file (`RELATIONSHIP_KINDS`), or None."""
    affinity: int
    """The speaker's NPC↔NPC affinity for it (0..100; 50 when nothing is declared or stored)."""
    leaning: Leaning


@dataclass(frozen=True)
class Answering:
    """The line a scene line answers."""

    speaker: str
    """Persona id, or `PLAYER`."""
    name: str
    """How the speaker of that line is called (the player's display name for the player)."""
    text: str


@dataclass(frozen=True)
class SceneCue:
    speaker: str
    addressed_to: tuple[str, ...]
    """Persona ids this line is spoken to; empty: the player."""
    present: tuple[Persona, ...]
    """The other NPCs present (never the speaker), in the scene's order."""
    player_name: str
    """How the NPCs call the player (the display name the game gave, else its id)."""
    stance: Stance | None = None
    answering: Answering | None = None

    @property
    def addressees(self) -> tuple[Persona, ...]:
        """The present NPCs this line is spoken to, in `addressed_to` order."""
        by_id = {p.id: p for p in self.present}
        return tuple(by_id[i] for i in self.addressed_to if i in by_id)

    def others(self) -> dict[str, tuple[str, ...]]:
        """Everyone the speaker must not voice, by id (`PLAYER` included): every name and
        alias of each present NPC, and the player's name (`attribution.split_foreign`)."""
        out: dict[str, tuple[str, ...]] = {p.id: p.names for p in self.present}
        out[PLAYER] = (self.player_name,) if self.player_name else ()
        return out


def leaning(kind: str | None, affinity: int, answered_stance: float = 0.0) -> Leaning:
    """Whether a line agrees or argues: rivals and enemies argue, low affinity argues, high
    affinity agrees; anyone argues back at an insult aimed at it (`STUNG`), and nobody argues
    with a compliment (`TOUCHED`: a rival takes it without a fight, the others agree)."""
    if answered_stance <= STUNG:
        return "argue"
    if answered_stance >= TOUCHED:
        return "neutral" if kind in ARGUE_KINDS or affinity < ARGUE_BELOW else "agree"
    if kind in ARGUE_KINDS or affinity < ARGUE_BELOW:
        return "argue"
    if affinity >= AGREE_AT:
        return "agree"
    return "neutral"


def stance_toward(
    speaker: Persona, toward: Persona, affinity: int | None = None, answered: Answering | None = None
) -> Stance:
    """The speaker's stance toward `toward`: the relationship its persona file declares, at
    `affinity` (the stored NPC↔NPC value; the file's start when None). An insult or a
    compliment in the `answered` line from `toward` tips it (`leaning`)."""
    rel = speaker.relationships.get(toward.id)
    kind = rel.kind if rel is not None else None
    value = affinity if affinity is not None else (rel.affinity if rel is not None else 50)
    said = 0.0
    if answered is not None and answered.speaker == toward.id:
        said = tones.read(answered.text, speaker.names).stance
    return Stance(toward.id, kind, value, leaning(kind, value, said))


def make_cue(
    speaker: Persona,
    addressed_to: Sequence[str],
    present: Sequence[Persona],
    *,
    player_name: str,
    answering: Answering | None = None,
    affinity: int | None = None,
) -> SceneCue:
    """The cue for one scene line. `present`: everyone in earshot (the speaker is dropped);
    `affinity`: the stored NPC↔NPC affinity of the speaker for its first addressee
    (`bonds.StoredBonds.affinity`), else the persona file's start is used."""
    others = tuple(p for p in present if p.id != speaker.id)
    to = tuple(i for i in addressed_to if i != speaker.id)
    first = next((p for p in others if to and p.id == to[0]), None)
    stance = stance_toward(speaker, first, affinity, answering) if first is not None else None
    return SceneCue(speaker.id, to, others, player_name, stance, answering)


_KIND_WORDS = {
    "friend": "your friend",
    "family": "family to you",
    "sweetheart": "your sweetheart",
    "mentor": "your mentor",
    "pupil": "your pupil",
    "colleague": "your colleague",
    "neighbour": "your neighbour",
    "acquaintance": "someone you know",
    "rival": "your rival",
    "enemy": "your enemy",
}
_LEANING_WORDS: dict[Leaning, str] = {
    "agree": "you tend to agree with them and back them up",
    "argue": "you tend to disagree with them and argue your side",
    "neutral": "you speak your own mind",
}


def instruction(cue: SceneCue, speaker: Persona) -> str:
    """The scene instruction for an LLM prompt (the seed's injection, made strict): who the
    NPC is, whom it addresses by name and how it stands toward them, the line it answers, and
    that it speaks only for itself."""
    names = [p.name for p in cue.present]
    parts = [f"[Scene] You are {speaker.name}, talking with {_join([cue.player_name, *names])}."]
    addressees = cue.addressees
    if addressees:
        whom = _join([p.name for p in addressees])
        parts.append(f"Address {whom} by name in your line.")
        if cue.stance is not None:
            kind = _KIND_WORDS.get(cue.stance.kind or "", "")
            what = f"{addressees[0].name} is {kind}; " if kind else ""
            parts.append(f"{what}{_LEANING_WORDS[cue.stance.leaning]}.")
    else:
        parts.append(f"Speak to {cue.player_name}.")
    if cue.answering is not None:
        said = " ".join(cue.answering.text.split())[:300]
        parts.append(f'You are answering {cue.answering.name}, who said: "{said}" Answer that, not a greeting.')
        answered = next((p for p in cue.present if p.id == cue.answering.speaker), None)
        if answered is not None and (cue.stance is None or cue.stance.toward != answered.id):
            # Answering one NPC and addressing another: how it takes the one it answers, too.
            took = stance_toward(speaker, answered, None, cue.answering)
            kind = _KIND_WORDS.get(took.kind or "", "")
            what = f"{answered.name} is {kind}; " if kind else f"Toward {answered.name}, "
            parts.append(f"{what}{_LEANING_WORDS[took.leaning]}.")
    others = _join([cue.player_name, *names], "or")
    parts.append(
        f"Speak only for yourself: never write lines, names as labels, or actions for {others}; "
        "they speak for themselves."
    )
    return " ".join(parts)


def _join(items: Sequence[str], last: str = "and") -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


__all__ = [
    "AGREE_AT",
    "ARGUE_BELOW",
    "ARGUE_KINDS",
    "STUNG",
    "TOUCHED",
    "Answering",
    "Leaning",
    "SceneCue",
    "Stance",
    "instruction",
    "leaning",
    "make_cue",
    "stance_toward",
]
