"""Answer options over a whole conversation, through a real sidecar over real ZeroMQ: the
option the player just chose is never offered again, nor one offered on any of the last
three turns, and "I'm X, by the way" at most once (never when the game gave the name)."""

from __future__ import annotations

import pytest

from parley_client import Client
from sidecar.engine.state import OFFERED_TURNS
from sidecar.engine.text import normalize

PERSONAS = ("ansel", "goldie", "sorrel", "rook", "hesper")
TURNS = 12


async def _talk(client: Client, persona: str, start_args: dict[str, object], pick: int) -> list[tuple[list[str], str]]:
    """Rounds of (options shown, the one chosen), choosing option `pick` (ask or share) and
    re-rolling the options once every third turn."""
    start = await client.call("conversation.start", {"persona": persona, **start_args})
    cid = start["conversation"]
    shown = [o["text"] for o in start["options"]]
    rounds: list[tuple[list[str], str]] = []
    for turn in range(TURNS):
        if turn % 3 == 2:
            shown += [o["text"] for o in (await client.call("options.generate", {"conversation": cid}))["options"]]
        said = await client.call("conversation.choose", {"conversation": cid, "option": pick})
        rounds.append((shown, said["player_text"]))
        assert not said["ended"], said
        shown = [o["text"] for o in said["options"]]
    rounds.append((shown, ""))
    return rounds


@pytest.mark.parametrize("persona", PERSONAS)
async def test_options_never_repeat_the_choice_nor_the_last_three_turns(client: Client, persona: str) -> None:
    for pick in (0, 1):
        rounds = await _talk(client, persona, {"player": "p_9", "seed": 5 + pick}, pick)
        for i in range(1, len(rounds)):
            now = {normalize(t) for t in rounds[i][0]}
            chosen = normalize(rounds[i - 1][1])
            assert chosen not in now, (persona, i, rounds[i - 1][1], rounds[i][0])
            for back in range(1, OFFERED_TURNS + 1):
                if i - back < 0:
                    break
                earlier = {normalize(t) for t in rounds[i - back][0]}
                assert not now & earlier, (persona, i, back, now & earlier)


@pytest.mark.parametrize("persona", PERSONAS)
async def test_an_introduction_is_offered_at_most_once(client: Client, persona: str) -> None:
    rounds = await _talk(client, persona, {"player": "Wren", "seed": 3}, 0)  # never picks it
    intros = [t for shown, _ in rounds for t in shown if "by the way" in t]
    assert intros == ["I'm Wren, by the way. Nice to meet you."], intros
    named = await _talk(client, persona, {"player": "Wren", "player_name": "Wren", "seed": 3}, 0)
    assert not [t for shown, _ in named for t in shown if "by the way" in t]
