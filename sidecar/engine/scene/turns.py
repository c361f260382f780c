"""Who speaks next in a scene, and to whom (issue 14 §2): the turn-taker.

One player line starts an exchange. The *opening round* is chosen by the scene's strategy:

    natural  the present NPCs the line names, in mention order; with none named, the one whose
             interests best match the line's words, else the one last addressed, else the
             first present; a line spoken to everyone ("Hello, everyone!") is answered by
             every present NPC, each to the player
    list     every present NPC, in the scene's fixed order
    pooled   every present NPC once, in an order drawn from the seeded generator
    manual   the one NPC the game names (`scene.say`'s `speaker`)

In the opening round each speaker addresses the next one ("the first addresses the next",
the seed's instruction injection); the last speaker of the round addresses the one before it,
or the player when it spoke alone. A present, unnamed NPC whose interests the line strongly
touches may chime in after the named ones (natural only), with its talkativeness as the chance.

After the round, *banter*: the NPC the last line addressed may answer it. The chance starts at
its talkativeness (the seed's 50 % is the default), is raised by its bond with the last speaker
(rivals argue longer, friends agree longer), and decays by `Policy.decay` with every banter
line; nobody speaks twice in a row; the exchange never exceeds `Policy.max_lines` lines.

Everything random comes from the one generator the caller passes in (seeded per scene and
player line), so a scene replays identically. The turn-taker decides only who speaks: the
director asks it for one turn at a time, generates that line, and may stop early (a token or
cost budget, a cancel) by not asking again.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from sidecar.engine.data import read_toml
from sidecar.engine.text import tokens
from sidecar.errors import ConfigError

Strategy = Literal["natural", "list", "pooled", "manual"]
STRATEGIES: tuple[Strategy, ...] = ("natural", "list", "pooled", "manual")

Why = Literal[
    "named", "interest", "last", "first", "listed", "pooled", "manual", "chime", "banter", "voiced", "farewell",
    "group",
]
"""Why a speaker was chosen: kept on the turn for logs and tests."""

BondKind = Literal["friend", "rival", "family", "acquaintance"]


@dataclass(frozen=True)
class Member:
    """A present NPC as the turn-taker sees it."""

    id: str
    talkativeness: float = 0.5
    """The chance (0..1) that it answers a line addressed to it in banter, before bonds."""
    interests: frozenset[str] = frozenset()
    """Words that make it speak unnamed (folded like `text.tokens`)."""


@dataclass(frozen=True)
class Bond:
    """How one NPC sees another: the relationship's kind and NPC↔NPC affinity (0..100)."""

    kind: BondKind | None
    affinity: int = 50


class Bonds(Protocol):
    """NPC↔NPC relationships (persona files' `[relationships]`, moved by what they say)."""

    def bond(self, of: str, toward: str) -> Bond | None:
        """How `of` sees `toward`, or None when nothing is declared or stored."""
        ...


class NoBonds:
    def bond(self, of: str, toward: str) -> Bond | None:
        return None


@dataclass(frozen=True)
class Policy:
    max_lines: int = 6
    """The hard cap on NPC lines per player line."""
    decay: float = 0.5
    """Each banter line multiplies the next one's chance by this."""
    talkativeness: float | None = None
    """A scene-wide talkativeness that overrides every member's own (None: each its own)."""
    rival_boost: float = 1.6
    friend_boost: float = 1.25
    chime_interest: int = 2
    """An unnamed NPC may chime in when at least this many of the line's words are its interests."""
    ceiling: float = 0.95
    """No banter chance exceeds this, however talkative and bonded: an exchange always can end."""


@dataclass(frozen=True)
class Turn:
    speaker: str
    addressed_to: tuple[str, ...]
    """Persona ids the line is spoken to; empty: the player."""
    why: Why


class SceneRuleError(ValueError):
    """A strategy or speaker the scene cannot use (the director turns it into a typed error)."""


@dataclass
class TurnTaker:
    """The speakers of one exchange, one turn at a time (`next_turn`)."""

    present: Sequence[Member]
    opening: list[Turn]
    policy: Policy
    bonds: Bonds
    rng: random.Random
    _given: list[Turn] = field(default_factory=list)
    _banter: int = 0
    _done: bool = False
    _opened: int = 0
    """Turns of `opening` given so far."""
    _quiet: bool = False
    _voiced: list[Turn] = field(default_factory=list)
    """Turns owed to NPCs another one wrote a line for (`let_speak`), given first."""

    def next_turn(self) -> Turn | None:
        """The next speaker, or None when the exchange is over."""
        if self._done or len(self._given) >= self.policy.max_lines:
            return None
        if self._voiced:
            turn: Turn | None = self._voiced.pop(0)
        elif self._opened < len(self.opening):
            turn = self.opening[self._opened]
            self._opened += 1
        else:
            turn = self._banter_turn()
        if turn is None:
            self._done = True
            return None
        self._given.append(turn)
        return turn

    def let_speak(self, speaker: str, to: tuple[str, ...]) -> bool:
        """Give `speaker` the next turn, spoken to `to`: the last speaker wrote a line for it,
        which the director cut (engine/scene/attribution.py), so it says its own. Nothing when
        it is not present, spoke last, or already has a turn coming; the cap still holds.
        True when the turn was given."""
        if self._done or speaker not in {m.id for m in self.present}:
            return False
        if self._given and self._given[-1].speaker == speaker:
            return False
        coming = [*self._voiced, *self.opening[self._opened :]]
        if any(t.speaker == speaker for t in coming):
            return False
        self._voiced.append(Turn(speaker, to, "voiced"))
        return True

    def stop(self) -> None:
        """End the exchange early (a budget ran out, the game cancelled)."""
        self._done = True

    def no_banter(self) -> None:
        """The turns the player's line asked for still come, but no NPC answers back after
        this (a laugh at a joke closes it: there is nothing to argue about)."""
        self._quiet = True

    @property
    def given(self) -> tuple[Turn, ...]:
        return tuple(self._given)

    def _banter_turn(self) -> Turn | None:
        last = self._given[-1] if self._given else None
        if last is None or self._quiet:
            return None
        by_id = {m.id: m for m in self.present}
        responder = next((by_id[a] for a in last.addressed_to if a in by_id and a != last.speaker), None)
        if responder is None:
            return None
        chance = banter_chance(responder, last.speaker, self.bonds, self.policy, self._banter)
        if self.rng.random() >= chance:
            return None
        self._banter += 1
        return Turn(responder.id, (last.speaker,), "banter")


def banter_chance(responder: Member, to: str, bonds: Bonds, policy: Policy, banter_so_far: int) -> float:
    """The chance that `responder` answers `to`'s line, after `banter_so_far` banter lines."""
    base = policy.talkativeness if policy.talkativeness is not None else responder.talkativeness
    bond = bonds.bond(responder.id, to)
    if bond is not None and bond.kind == "rival":
        base *= policy.rival_boost
    elif bond is not None and bond.kind in ("friend", "family") and bond.affinity >= 60:
        base *= policy.friend_boost
    return min(policy.ceiling, max(0.0, base * policy.decay**banter_so_far))


def interest_score(member: Member, line_words: Iterable[str]) -> int:
    """How many of the line's words are among the member's interests."""
    return sum(1 for w in set(line_words) if w in member.interests)


def plan(
    strategy: Strategy,
    present: Sequence[Member],
    *,
    named: Sequence[str],
    line: str,
    rng: random.Random,
    last_addressed: str | None = None,
    speaker: str | None = None,
    policy: Policy | None = None,
    bonds: Bonds | None = None,
) -> TurnTaker:
    """The turn-taker for one player line. `named`: persona ids the line names, in mention
    order (`PersonaSet.mentioned_in`); absent ones are ignored. When more are named than
    `max_lines` allows, the cap wins: the first `max_lines` in mention order speak. `speaker`: only with `manual`,
    and required there. Raises `SceneRuleError` for a strategy or speaker the scene cannot use."""
    policy = policy or Policy()
    if policy.max_lines < 1:
        raise SceneRuleError("max_lines must be at least 1")
    if not present:
        raise SceneRuleError("nobody is present in the scene")
    if speaker is not None and strategy != "manual":
        raise SceneRuleError("a speaker is named only with the manual strategy")
    ids = [m.id for m in present]
    order = _opening_order(strategy, present, ids, named, line, rng, last_addressed, speaker, policy)
    return TurnTaker(present, _address(order), policy, bonds or NoBonds(), rng)


def _opening_order(
    strategy: Strategy,
    present: Sequence[Member],
    ids: list[str],
    named: Sequence[str],
    line: str,
    rng: random.Random,
    last_addressed: str | None,
    speaker: str | None,
    policy: Policy,
) -> list[tuple[str, Why]]:
    if strategy == "manual":
        if speaker is None:
            raise SceneRuleError("the manual strategy needs the speaker")
        if speaker not in ids:
            raise SceneRuleError(f"{speaker!r} is not present in the scene")
        return [(speaker, "manual")]
    if strategy == "list":
        return [(i, "listed") for i in ids]
    if strategy == "pooled":
        pool = list(ids)
        rng.shuffle(pool)
        return [(i, "pooled") for i in pool]
    if strategy != "natural":
        raise SceneRuleError(f"unknown strategy {strategy!r}; one of {', '.join(STRATEGIES)}")
    line_words = tokens(line)
    order: list[tuple[str, Why]] = [(i, "named") for i in dict.fromkeys(named) if i in ids]
    if not order and spoken_to_everyone(line_words):
        return [(i, "group") for i in ids[: policy.max_lines]]
    if not order:
        return [_unnamed_speaker(present, line_words, last_addressed)]
    chimer = _chimer(present, {i for i, _ in order}, line_words, rng, policy)
    if chimer is not None:
        order.append((chimer, "chime"))
    return order


def _group_phrases() -> tuple[tuple[str, ...], ...]:
    raw = read_toml("words.toml").get("group_address")
    if not isinstance(raw, list) or not raw or not all(isinstance(p, str) and p == p.lower() for p in raw):
        raise ConfigError("sidecar/data/words.toml: group_address: must be a non-empty list of lowercase phrases")
    return tuple(tuple(p.split()) for p in raw)


_GROUP = _group_phrases()


def spoken_to_everyone(line_words: Sequence[str]) -> bool:
    """Whether the line speaks to the whole scene ("Hello everyone!", "What do you all
    think?"): one of words.toml's `group_address` phrases, as whole words in order."""
    words = list(line_words)
    return any(words[k : k + len(p)] == list(p) for p in _GROUP for k in range(len(words) - len(p) + 1))


def _unnamed_speaker(present: Sequence[Member], line_words: list[str], last: str | None) -> tuple[str, Why]:
    scores = [(interest_score(m, line_words), -k, m.id) for k, m in enumerate(present)]
    best = max(scores)
    if best[0] > 0:
        return best[2], "interest"
    if last is not None and any(m.id == last for m in present):
        return last, "last"
    return present[0].id, "first"


def _chimer(
    present: Sequence[Member], speaking: set[str], line_words: list[str], rng: random.Random, policy: Policy
) -> str | None:
    keen = [(interest_score(m, line_words), m) for m in present if m.id not in speaking]
    keen = [(s, m) for s, m in keen if s >= policy.chime_interest]
    if not keen:
        return None
    _, member = max(keen, key=lambda sm: sm[0])
    talk = policy.talkativeness if policy.talkativeness is not None else member.talkativeness
    return member.id if rng.random() < talk else None


def _address(order: list[tuple[str, Why]]) -> list[Turn]:
    """Each speaker of the round addresses the next, the last the one before it, a lone one
    the player. An NPC that chimes in was not asked: it addresses the one who spoke before it,
    and nobody addresses it before it has spoken."""
    if order and all(w == "group" for _, w in order):
        # Spoken to everyone: each answers the player, and no one is handed the word.
        return [Turn(speaker, (), why) for speaker, why in order]
    chime = [(s, w) for s, w in order if w == "chime"]
    order = [(s, w) for s, w in order if w != "chime"]
    turns: list[Turn] = []
    for k, (speaker, why) in enumerate(order):
        if k + 1 < len(order):
            to: tuple[str, ...] = (order[k + 1][0],)
        elif k > 0:
            to = (order[k - 1][0],)
        else:
            to = ()
        turns.append(Turn(speaker, to, why))
    for speaker, why in chime:
        turns.append(Turn(speaker, (turns[-1].speaker,), why))
    return turns


def members(
    ids: Sequence[str],
    interests: Mapping[str, Iterable[str]],
    talkativeness: Mapping[str, float],
) -> list[Member]:
    """Members from persona data: interests folded the way a line's words are."""
    return [
        Member(i, talkativeness.get(i, 0.5), frozenset(w for kw in interests.get(i, ()) for w in tokens(kw)))
        for i in ids
    ]


__all__ = [
    "STRATEGIES",
    "Bond",
    "Bonds",
    "Member",
    "NoBonds",
    "Policy",
    "SceneRuleError",
    "Strategy",
    "Turn",
    "TurnTaker",
    "banter_chance",
    "interest_score",
    "members",
    "plan",
]
