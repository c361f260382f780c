"""Start a sidecar the way the game does: token in the environment, ready line on stdout,
parent pid so it dies with us."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class SidecarFailed(RuntimeError):
    """The sidecar exited or printed something other than the ready line."""


class Sidecar:
    def __init__(
        self,
        data_dir: Path,
        personas_dir: Path,
        *,
        command: Sequence[str] | None = None,
        extra_args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        token: str | None = None,
        parent_pid: int | None = None,
        ready_timeout: float = 30.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.personas_dir = Path(personas_dir)
        self.command = list(command or [sys.executable, "-m", "sidecar"])
        self.extra_args = list(extra_args)
        self.token = token or secrets.token_urlsafe(24)
        self.parent_pid = os.getpid() if parent_pid is None else parent_pid
        self.ready_timeout = ready_timeout
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, Any] = {}
        self._stderr: list[bytes] = []
        self._pump: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return str(self.ready["endpoint"])

    def start(self) -> Sidecar:
        env = dict(os.environ if self.env is None else self.env)
        env["PARLEY_TOKEN"] = self.token
        args = [
            *self.command,
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--personas",
            str(self.personas_dir),
            "--endpoint",
            "tcp://127.0.0.1:0",
            *(["--parent-pid", str(self.parent_pid)] if self.parent_pid else []),
            *self.extra_args,
        ]
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        self._pump = threading.Thread(target=self._pump_stderr, daemon=True)
        self._pump.start()
        line = self._readline(self.ready_timeout)
        try:
            ready = json.loads(line)
        except ValueError:
            ready = None
        if not isinstance(ready, dict) or ready.get("event") != "ready":
            self.kill()
            raise SidecarFailed(f"no ready line (got {line[:200]!r}); stderr: {self.stderr_text()[-2000:]}")
        self.ready = ready
        return self

    def _readline(self, timeout: float) -> bytes:
        assert self.proc is not None and self.proc.stdout is not None
        out: list[bytes] = []
        reader = threading.Thread(target=lambda: out.append(self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        if not out:
            self.kill()
            raise SidecarFailed(f"no ready line within {timeout}s; stderr: {self.stderr_text()[-2000:]}")
        return out[0]

    def _pump_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    def stderr_text(self) -> str:
        return b"".join(self._stderr).decode(errors="replace")

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._close_pipes()
        return code

    def wait(self, timeout: float) -> int:
        """Wait for the sidecar to exit on its own (e.g. after its parent died)."""
        assert self.proc is not None
        code = self.proc.wait(timeout)
        self._close_pipes()
        return code

    def _close_pipes(self) -> None:
        assert self.proc is not None
        if self._pump is not None:
            self._pump.join(5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()

    def kill(self) -> None:
        """SIGKILL: the crash case."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            self._close_pipes()

    def __enter__(self) -> Sidecar:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["Sidecar", "SidecarFailed"]
