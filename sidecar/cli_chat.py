"""`parley chat` and `parley demo`: a real sidecar subprocess, spoken to over ZeroMQ
exactly as the game does (through the reference client)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from parley_client import Client, Event, RemoteError, Sidecar
from sidecar.paths import default_personas_dir

DEMO_SCRIPT = (
    "Hello there! I'm Ana, a traveller.",
    "I love fishing, and I like a good story.",
    "I promise I'll bring you a fresh trout next time.",
    "What's the weather been like around here?",
    "Tell me about yourself.",
    "You are useless and rude, and I hate this place.",
    "Sorry, that was unkind of me. Please forgive me.",
    "Do you remember my name?",
    "Thanks for the chat. Goodbye!",
)
DEMO_PAIR = ("ansel", "hesper")
"""A shy and a sarcastic NPC, so the same lines visibly get different answers."""
DEMO_GOAL = "build_trust"
DEMO_SCENE = ("ansel", "goldie", "rook")
SCENE_SCRIPT = (
    "Ansel, Goldie, Rook: what do you three make of the festival?",
    "And what about the old mine?",
)
"""One line names all three NPCs (they answer in that order, each addressing the next); the
next names nobody (the best-interested NPC answers, or the one last addressed)."""
SECOND_MEETING = ("Hello again!", "Do you remember what I promised?", "Here is the trout I promised.")
"""The second meeting with the first NPC, in a new conversation: it greets Ana by the name it
remembers and brings up her promise; she keeps it."""


@contextmanager
def _data_dir(given: Path | None) -> Iterator[Path]:
    if given is not None:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="parley-demo-") as tmp:
        yield Path(tmp)


def _personas_dir(given: Path | None) -> Path:
    return given or default_personas_dir()


def _affinity(result: dict[str, Any]) -> str:
    a = result.get("affinity") or {}
    delta = int(a.get("delta", 0))
    sign = "+" if delta >= 0 else ""
    return f"affinity {a.get('value')} ({sign}{delta}: {a.get('reason', '')})"


def _options(result: dict[str, Any]) -> str:
    opts = result.get("options") or []
    return "  ".join(f"[{i + 1}] {o['text']}" for i, o in enumerate(opts))


async def demo(args: argparse.Namespace) -> int:
    with _data_dir(args.data_dir) as data_dir:
        with Sidecar(data_dir, _personas_dir(args.personas)) as sidecar:
            async with Client(sidecar.endpoint, sidecar.token) as client:
                personas = (await client.call("persona.list"))["personas"]
                if len(personas) < 2:
                    print("demo: need at least two personas", file=sys.stderr)
                    return 1
                by_id = {p["id"]: p for p in personas}
                pair = [by_id[i] for i in DEMO_PAIR if i in by_id]
                if len(pair) < 2:
                    pair = personas[:2]
                for persona in pair:
                    await _demo_conversation(client, persona, args.seed)
                await _second_meeting(client, pair[0], args.seed + 1)
                await _demo_scene(client, args.seed, by_id)
                info = await client.call("server.info")
                c = info["counts"]
                print(
                    f"-- stored {c['messages']} lines in {c['conversations']} conversations "
                    f"(sidecar {info['version']}, protocol {info['protocol']}, "
                    f"{c['quality_scored']} lines quality-scored, {c['quality_retries']} retries)"
                )
    return 0


def _on_event(event: Event) -> None:
    if event.event == "goal_completed":
        data = event.data
        print(f"   * goal {data['id']} completed! (+{data['reward']} affinity) {data['reason'][:70]}")
    elif event.event == "goal_progressed":
        print(f"   * goal {event.data['id']}: {round(100 * event.data['progress'])}%")


async def _demo_conversation(client: Client, persona: dict[str, Any], seed: int) -> None:
    print(f"== {persona['name']}, {persona['role']} ({persona['preset']}) ==")
    start = await client.call("conversation.start", {"persona": persona["id"], "player": "Ana", "seed": seed})
    cid = start["conversation"]
    print(f"{start['line']['name']}: {start['line']['text']}")
    print(f"   options: {_options(start)}")
    goal = await client.call("goal.set", {"conversation": cid, "goal": DEMO_GOAL})
    print(f"   (Ana's goal: {goal['goal']['description'].lower()})")
    for text in DEMO_SCRIPT:
        print(f"Ana: {text}")
        result = await client.call("conversation.say", {"conversation": cid, "text": text}, on_event=_on_event)
        print(f"{result['line']['name']}: {result['line']['text']}")
        print(
            f"   [{result['sentiment']}, arc {result['arc']}; {_affinity(result)}; "
            f"quality {result['quality']['score']}; via {result['provider']}]"
        )
        if result.get("ended"):
            break
        print(f"   options: {_options(result)}")
    print()


_YES = ("y", "yes")
_NO = ("n", "no")


def _action_text(action: dict[str, Any]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in action["args"].items())
    return f"{action['name']}({args})"


async def _answer_actions(
    client: Client, result: dict[str, Any], read: Callable[[], Awaitable[str]]
) -> tuple[bool, str | None]:
    """The terminal user plays the game: each decided action is accepted or refused, and the
    answer goes back as `action.result` (words after y/n are its `detail`). Returns (go on,
    a line to say next): (False, None) at EOF; a second line that is neither y nor n leaves
    the action pending and is the player's next line (piped input is not eaten by asking
    again and again)."""
    for action in result.get("actions") or []:
        print(f"   >> {result['line']['name']} decides: {_action_text(action)}")
        print("   >> carry it out? y / n, then optionally what happened (y paid in full)")
        asked_again = False
        while True:
            answer = (await read()).strip()
            if not answer:
                print("   >> left pending (actions.pending lists it)")
                return False, None
            word, _, rest = answer.partition(" ")
            word = word.lower().strip(",.!")
            if word in _YES + _NO:
                break
            if asked_again:
                print("   >> left pending (actions.pending lists it)")
                return True, answer
            # A line of dialogue typed here is not a refusal: refusing on it would tell the
            # game "no" for something the player never decided.
            print("   >> please answer y or n first (then optionally what happened)")
            asked_again = True
        ok = word in _YES
        detail = rest.strip() or None
        await client.call("action.result", {"id": action["id"], "ok": ok, "detail": detail})
        print(f"   >> {'done' if ok else 'refused'}{': ' + detail if detail else ''}")
    return True, None


async def _second_meeting(client: Client, persona: dict[str, Any], seed: int) -> None:
    print(f"== The next day: {persona['name']} again (a new conversation; long-term memory) ==")
    start = await client.call("conversation.start", {"persona": persona["id"], "player": "Ana", "seed": seed})
    cid = start["conversation"]
    print(f"{start['line']['name']}: {start['line']['text']}")
    for text in SECOND_MEETING:
        print(f"Ana: {text}")
        result = await client.call("conversation.say", {"conversation": cid, "text": text})
        print(f"{result['line']['name']}: {result['line']['text']}")
    await client.call("conversation.end", {"conversation": cid})
    memories = (await client.call("memory.list", {"persona": persona["id"], "player": "Ana", "limit": 6}))["memories"]
    print(f"   ({persona['name']} remembers, most important first:)")
    for m in memories:
        print(f"   - [{m['kind']} {m['importance']}] {m['text']}")
    print()


def _scene_line(line: dict[str, Any], by_id: dict[str, dict[str, Any]], player: str) -> str:
    """"Goldie (to Rook): ..." -- whom a scene line addresses, the player when no NPC."""
    to = ", ".join(by_id[a]["name"] for a in line["addressed_to"] if a in by_id) or player
    return f"{line['name']} (to {to}): {line['text']}"


async def _demo_scene(client: Client, seed: int, by_id: dict[str, dict[str, Any]]) -> None:
    cast = [p for p in DEMO_SCENE if p in by_id]
    if len(cast) < 2:
        return
    names = " + ".join(by_id[p]["name"] for p in cast)
    print(f"== A scene in the square: {names} (one player line; they answer each other) ==")
    started = await client.call(
        "scene.start", {"personas": cast, "player": "Mira", "player_name": "Mira", "seed": seed}
    )
    scene = started["scene"]
    for line in started["lines"]:
        print(f"{line['name']}: {line['text']}")
    for text in SCENE_SCRIPT:
        print(f"Mira: {text}")
        t0 = time.perf_counter()
        first: list[float] = []

        def shown(event: Event, first: list[float] = first) -> None:
            if event.event != "scene.line":
                return
            first.append(time.perf_counter())
            print(_scene_line(event.data, by_id, "Mira"))

        said = await client.call("scene.say", {"scene": scene, "text": text}, on_event=shown)
        done = time.perf_counter()
        moved = "; ".join(
            f"{by_id[p]['name']} {a['value']} ({'+' if a['delta'] >= 0 else ''}{a['delta']})"
            for p, a in said["affinity"].items()
        )
        print(
            f"   [{len(said['lines'])} NPC lines; first after {1000 * (first[0] - t0):.1f} ms,"
            f" all after {1000 * (done - t0):.1f} ms; affinity {moved}]"
        )
        print(f"   options: {_options(said)}")
    for line in (await client.call("scene.end", {"scene": scene}))["lines"]:
        print(f"{line['name']}: {line['text']}")
    print()


async def chat(args: argparse.Namespace) -> int:
    with _data_dir(args.data_dir) as data_dir:
        extra = list(getattr(args, "sidecar_args", []))  # ["--config", FILE] from cli.py
        with Sidecar(data_dir, _personas_dir(args.personas), extra_args=extra) as sidecar:
            async with Client(sidecar.endpoint, sidecar.token, timeout=60) as client:
                personas = (await client.call("persona.list"))["personas"]
                ids = [p["id"] for p in personas]
                if args.scene:
                    return await _scene_chat(client, args, {p["id"]: p for p in personas})
                persona = args.persona or (ids[0] if ids else None)
                if persona not in ids:
                    print(f"chat: unknown persona {persona!r}; known: {', '.join(ids)}", file=sys.stderr)
                    return 1
                begin: dict[str, Any] = {"persona": persona, "player": args.player, "seed": args.seed}
                if args.player_name:
                    begin["player_name"] = args.player_name
                start = await client.call("conversation.start", begin)
                cid = start["conversation"]
                print(f"{start['line']['name']}: {start['line']['text']}")
                options = start["options"]
                print("   " + _options(start) + "   (type a line, a number, /goal ID, or /quit)")
                loop = asyncio.get_running_loop()

                async def read() -> str:
                    return await loop.run_in_executor(None, sys.stdin.readline)

                carried: str | None = None  # a line typed at an action's y / n prompt
                while True:
                    text, carried = (carried, None) if carried is not None else (await read(), None)
                    if not text:
                        break
                    text = text.strip()
                    if not text:
                        continue
                    if text.startswith("/goal "):
                        try:
                            goal = await client.call("goal.set", {"conversation": cid, "goal": text[6:].strip()})
                            print(f"   (goal: {goal['goal']['description']})")
                        except RemoteError as exc:
                            print(f"   ! {exc.code}: {exc.message}")
                        continue
                    if text in ("/quit", "/exit"):
                        end = await client.call("conversation.end", {"conversation": cid})
                        print(f"{end['line']['name']}: {end['line']['text']}")
                        break
                    if text.isdigit() and 1 <= int(text) <= len(options):
                        text = options[int(text) - 1]["text"]
                        print(f"{args.player_name or args.player}: {text}")
                    try:
                        result = await client.call("conversation.say", {"conversation": cid, "text": text})
                    except RemoteError as exc:
                        print(f"   ! {exc.code}: {exc.message}")
                        continue
                    print(f"{result['line']['name']}: {result['line']['text']}")
                    face = result["line"]
                    print(f"   [{_affinity(result)}; arc {result['arc']}; {face['emotion']} {face['intensity']:.2f}]")
                    go_on, carried = await _answer_actions(client, result, read)
                    if not go_on:
                        break
                    if result.get("ended"):
                        break
                    options = result["options"]
                    print("   " + _options(result))
    return 0


async def _scene_chat(client: Client, args: argparse.Namespace, by_id: dict[str, dict[str, Any]]) -> int:
    """`parley chat --scene ansel,goldie,rook`: one player among several NPCs; every line the
    NPCs say to each other is printed as it arrives (the `scene.line` events)."""
    cast = [p.strip() for p in args.scene.split(",") if p.strip()]
    unknown = [p for p in cast if p not in by_id]
    if unknown or len(cast) < 2:
        known = ", ".join(by_id)
        why = f"unknown persona {unknown[0]!r}" if unknown else "a scene needs at least two personas"
        print(f"chat: {why}; known: {known}", file=sys.stderr)
        return 1
    player = args.player_name or args.player
    begin: dict[str, Any] = {"personas": cast, "player": args.player, "seed": args.seed, "strategy": args.strategy}
    if args.player_name:
        begin["player_name"] = args.player_name
    started = await client.call("scene.start", begin)
    scene = started["scene"]
    for line in started["lines"]:
        print(f"{line['name']}: {line['text']}")
    options = started["options"]
    print("   " + _options(started) + "   (type a line, a number, or /quit)")
    loop = asyncio.get_running_loop()

    def shown(event: Event) -> None:
        if event.event == "scene.line":
            print(_scene_line(event.data, by_id, player))

    while True:
        text = await loop.run_in_executor(None, sys.stdin.readline)
        if not text:
            break
        text = text.strip()
        if not text:
            continue
        if text in ("/quit", "/exit"):
            for line in (await client.call("scene.end", {"scene": scene}))["lines"]:
                print(f"{line['name']}: {line['text']}")
            break
        if text.isdigit() and 1 <= int(text) <= len(options):
            text = options[int(text) - 1]["text"]
            print(f"{player}: {text}")
        try:
            said = await client.call("scene.say", {"scene": scene, "text": text}, on_event=shown)
        except RemoteError as exc:
            print(f"   ! {exc.code}: {exc.message}")
            continue
        print("   [" + "; ".join(f"{by_id[p]['name']} {a['value']} ({a['delta']:+d})"
                                 for p, a in said["affinity"].items()) + "]")
        if said.get("ended"):
            break
        options = said["options"]
        print("   " + _options(said))
    return 0
