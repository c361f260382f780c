"""A minimal loopback server speaking OpenAI chat completions (non-streaming JSON bodies),
for `parley bench`'s LLM-path measurement: `python -m sidecar.bench_provider` prints its port
and answers every POST to `/v1/chat/completions` at once. A request with a `response_format`
gets the memory extraction's JSON when its schema is that one, else three options as JSON;
any other gets an NPC line, followed by the answer-options block when the system prompt asks
for one (`[options]`, the `emotion:` line, and the `memory:` line when asked, as a model following
sidecar/engine/inline_options.py's instruction would write them).

It runs in its own process, so the CPU time the bench reads from the sidecar's process is
the sidecar's own (the provider's time is not in it). Standard library only: `parley bench`
works from an installed package without the test extras. Not a test fake: tests use
tests/llm/llm_fakes.py, which validates requests the way the real API does.
"""

from __future__ import annotations

import itertools
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Each reply is a different line with different options, as a model's are: a fixed reply
# would be a repeat every turn (the quality gate's repeat check, and every cache on the NPC's
# text, always hit) and its options stale after one turn (answer options never repeat the
# last turns', so the embedded engine composed the options every turn instead).
_OPENINGS = (
    "The forge has been busy all week, friend.",
    "Iron does not lie, and neither do I.",
    "Three ploughs came in this morning, all of them bent.",
    "Mind the sparks, they bite.",
    "Goldie sent over bread again, bless her.",
    "The bellows want mending before the frost.",
    "I heard the captain shut the north gate.",
    "Rain's coming, I can smell it on the coals.",
    "My hammer arm aches, but the work is good.",
    "Sorrel swears by her nettle tea for burns.",
    "A horseshoe for luck? I make them by the dozen.",
    "Old Rook paid me in fish again.",
)
_CLOSINGS = (
    "What brings you by?",
    "Need something mended?",
    "You look like you've walked a long way.",
    "Stay a while if you like.",
    "Anything I can do for you?",
    "Careful where you stand.",
    "Tell me what you need.",
    "I'll be at it till dark.",
    "Come back tomorrow if it can wait.",
    "Don't touch that, it's still hot.",
    "Ask away.",
    "I've time for a chat.",
)
_OPTION_TEXTS = {
    "ask": (
        "What are you making at the forge?", "Who taught you the trade?", "Is the north road safe?",
        "What do you charge for a horseshoe?", "How is the harvest this year?", "Do you know Goldie well?",
        "What happened to the old mill?", "Can you mend a cooking pot?", "Where does your iron come from?",
        "Why did the captain shut the gate?", "Do you ever rest?", "What's the best blade you've made?",
    ),
    "share": (
        "My father worked iron too, long ago.", "I came up the river road today.", "I lost my knife in the woods.",
        "I'm looking for work in the village.", "I've never seen a forge this big.", "My mare threw a shoe.",
        "I slept badly last night.", "I met Rook down by the water.", "I used to live by the sea.",
        "I found a strange coin near the well.", "I'm saving for a new cloak.", "The bread at the inn is good.",
    ),
    "leave": (
        "I should let you get back to work.", "I'll come back tomorrow.", "Thanks, I must be going.",
        "Good luck with the ploughs.", "I'll leave you to it.", "See you at the inn later.",
        "I need to find the herbalist.", "Take care of that arm.", "I'll let you work in peace.",
        "Until next time, smith.", "I have to see the captain.", "Keep the coals warm for me.",
    ),
}
_replies = itertools.count()


def _line(n: int) -> str:
    return f"{_OPENINGS[n % len(_OPENINGS)]} {_CLOSINGS[(n // len(_OPENINGS) + n) % len(_CLOSINGS)]}"


def _options(n: int) -> dict[str, list[dict[str, str]]]:
    return {
        "options": [
            {"text": texts[(n * 5 + k) % len(texts)], "intent": intent}
            for k, (intent, texts) in enumerate(_OPTION_TEXTS.items())
        ]
    }


BLOCK_MARKER = "[options]"
MEMORY_LINE = "memory:"
EMOTION_LINE = "emotion:"
_FACES = ("neutral", "joy", "surprise", "affection")


def _memories(n: int) -> dict[str, list[dict[str, object]]]:
    """What a model keeps of a memorable turn: one memory on odd replies, none on even ones."""
    said = _OPTION_TEXTS["share"][n % len(_OPTION_TEXTS["share"])].rstrip(".").replace("I ", "the player ", 1)
    items = [{"kind": "event", "text": f"The player said {said}.", "importance": 3, "said_by": "player"}]
    return {"memories": items if n % 2 else []}


def _block(n: int, memories: bool) -> str:
    lines = [BLOCK_MARKER, *(f"{o['intent']}: {o['text']}" for o in _options(n)["options"])]
    lines.append(f"{EMOTION_LINE} {_FACES[n % len(_FACES)]}")
    if memories:
        lines.append(f"{MEMORY_LINE} {json.dumps(_memories(n))}")
    return "\n".join(lines)


def _system(body: dict[str, Any]) -> str:
    messages = body.get("messages") or [{}]
    first = messages[0]
    return str(first.get("content", "")) if first.get("role") == "system" else ""


def _asks_memories(body: dict[str, Any]) -> bool:
    schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
    return "memories" in (schema.get("properties") or {})


def completion(body: dict[str, Any], n: int | None = None) -> dict[str, Any]:
    """The reply to `body`, the `n`th of this server (by default the next)."""
    n = next(_replies) if n is None else n
    system = _system(body)
    if _asks_memories(body):
        content = json.dumps(_memories(n))
    elif body.get("response_format"):
        content = json.dumps(_options(n))
    elif BLOCK_MARKER in system:
        content = f"{_line(n)}\n{_block(n, memories=MEMORY_LINE in system)}"
    else:
        content = _line(n)
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": str(body.get("model", "bench")),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 20, "total_tokens": 140},
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the sidecar's HTTP client reuses one connection
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        size = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(size) or b"{}")
        out = json.dumps(completion(body)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence per-request lines
        return


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
