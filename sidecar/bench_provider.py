"""A minimal loopback server speaking OpenAI chat completions (non-streaming JSON bodies),
for `parley bench`'s LLM-path measurement: `python -m sidecar.bench_provider` prints its port
and answers every POST to `/v1/chat/completions` at once. A request with a `response_format`
(the answer options' JSON schema) gets three options as JSON; any other gets a fixed NPC line,
followed by the answer-options block when the system prompt asks for one (`[options]`, as a
model following sidecar/engine/inline_options.py's instruction would write it).

It runs in its own process, so the CPU time the bench reads from the sidecar's process is
the sidecar's own (the provider's time is not in it). Standard library only: `parley bench`
works from an installed package without the test extras. Not a test fake: tests use
tests/llm/llm_fakes.py, which validates requests the way the real API does.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LINE = "The forge has been busy all week, friend. Iron does not lie, and neither do I."
OPTIONS = {
    "options": [
        {"text": "What are you making at the forge?", "intent": "ask"},
        {"text": "My father worked iron too, long ago.", "intent": "share"},
        {"text": "I should let you get back to work.", "intent": "leave"},
    ]
}

BLOCK_MARKER = "[options]"
BLOCK = "\n".join([BLOCK_MARKER, *(f"{o['intent']}: {o['text']}" for o in OPTIONS["options"])])


def _asks_block(body: dict[str, Any]) -> bool:
    messages = body.get("messages") or [{}]
    first = messages[0]
    return first.get("role") == "system" and BLOCK_MARKER in str(first.get("content", ""))


def completion(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("response_format"):
        content = json.dumps(OPTIONS)
    else:
        content = f"{LINE}\n{BLOCK}" if _asks_block(body) else LINE
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
