"""JSON-lines logging: constant messages, context in `extra`, never keys or player text
above DEBUG.

Two caps keep a flood (an authenticated peer sending garbage, a game loop stuck on a bad
request) from filling the disk or the game's output panel:

- **Repeats are rate-limited**, on the log file and on stderr alike. Records are keyed by
  logger, level, message template (the constant message, never its arguments) and the
  `KEY_FIELDS` of `extra`. In each `interval_s` window the first `burst` records of a key
  pass; the rest are counted, and one summary line (`N similar warnings suppressed in the
  last Xs: <message>`, with `suppressed`, `span_s` and `like` fields in the JSON line) is
  written when the window ends: with the next record of any key after that, or when the
  sidecar exits. A key's worst case is `burst + 1` lines per interval.
- **The log file rotates**: at `max_bytes` it becomes `sidecar.log.1` (older ones shift up
  to `.N`, `N = backups`; the oldest is deleted), so the files never total more than
  `(backups + 1) * max_bytes` plus one line.

Defaults (`LogLimits`): 10 lines per key per 60 s, 4 MiB per file, 3 old files (16 MiB at
most). `parley serve --log-burst/--log-interval/--log-max-bytes/--log-backups` change them.
A `kill -9` loses pending summaries (not the lines already written).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_STD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

KEY_FIELDS = ("op", "code")
"""`extra` fields that split a message's budget (a flood of one error code does not hide
another). Only these: others (byte counts, parser messages) vary per record."""

MAX_KEYS = 512
"""Past this many live keys, new records are keyed without `KEY_FIELDS` (bounded memory)."""

_PLURAL = {
    logging.DEBUG: "debug lines",
    logging.INFO: "info lines",
    logging.WARNING: "warnings",
    logging.ERROR: "errors",
    logging.CRITICAL: "critical errors",
}


@dataclass(frozen=True)
class LogLimits:
    burst: int = 10
    """Records of one key that pass per interval."""
    interval_s: float = 60.0
    max_bytes: int = 4 * 1024 * 1024
    """Size at which the log file rotates."""
    backups: int = 3
    """Rotated files kept (`sidecar.log.1` … `.N`)."""

    def __post_init__(self) -> None:
        if self.burst < 1 or self.interval_s <= 0 or self.max_bytes < 1 or self.backups < 1:
            raise ValueError(f"log limits must be positive: {self}")


def log_limits(
    burst: int | None = None,
    interval_s: float | None = None,
    max_bytes: int | None = None,
    backups: int | None = None,
) -> LogLimits:
    """`LogLimits` with the given values over the defaults (the CLI's flags). Raises
    `ValueError` naming the limits when one is not positive."""
    d = LogLimits()
    return LogLimits(
        d.burst if burst is None else burst,
        d.interval_s if interval_s is None else interval_s,
        d.max_bytes if max_bytes is None else max_bytes,
        d.backups if backups is None else backups,
    )


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "t": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STD:
                out[key] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


@dataclass
class _Window:
    start: float
    name: str
    level: int
    template: str
    passed: int = 0
    suppressed: int = 0


_Key = tuple[str, int, str, tuple[str, ...]]


class RepeatLimiter:
    """Decides which records pass and when a summary is due; knows nothing about handlers.
    `clock` is injectable so tests drive the windows without sleeping."""

    def __init__(self, burst: int, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self.interval_s = interval_s
        self.clock = clock
        self._windows: dict[_Key, _Window] = {}

    def check(self, record: logging.LogRecord) -> tuple[list[logging.LogRecord], bool]:
        """Summaries of the windows that have ended (write them first), and whether `record`
        itself passes."""
        now = self.clock()
        summaries = self._expire(now)
        key = self._key(record)
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(now, record.name, record.levelno, str(record.msg))
        if window.passed < self.burst:
            window.passed += 1
            return summaries, True
        window.suppressed += 1
        return summaries, False

    def flush(self) -> list[logging.LogRecord]:
        """Summaries of every window still counting (at exit)."""
        now = self.clock()
        out = [self._summary(w, now) for w in self._windows.values() if w.suppressed]
        self._windows.clear()
        return out

    def _key(self, record: logging.LogRecord) -> _Key:
        fields = tuple(str(getattr(record, f, ""))[:64] for f in KEY_FIELDS)
        key = (record.name, record.levelno, str(record.msg), fields)
        if key not in self._windows and len(self._windows) >= MAX_KEYS:
            return (record.name, record.levelno, str(record.msg), ())
        return key

    def _expire(self, now: float) -> list[logging.LogRecord]:
        ended = [k for k, w in self._windows.items() if now - w.start >= self.interval_s]
        out: list[logging.LogRecord] = []
        for k in ended:
            window = self._windows.pop(k)
            if window.suppressed:
                out.append(self._summary(window, now))
        return out

    @staticmethod
    def _summary(window: _Window, now: float) -> logging.LogRecord:
        span = round(now - window.start, 1)
        what = _PLURAL.get(window.level, "lines")
        record = logging.LogRecord(
            window.name,
            window.level,
            __file__,
            0,
            "%d similar %s suppressed in the last %ss: %s",
            (window.suppressed, what, span, window.template),
            None,
        )
        record.suppressed = window.suppressed
        record.span_s = span
        record.like = window.template
        return record


class RateLimitedHandler(logging.Handler):
    """Passes records to `target` through a `RepeatLimiter`; on close, writes the pending
    summaries, then closes `target`. One per destination: each counts what it would write."""

    def __init__(self, target: logging.Handler, limiter: RepeatLimiter) -> None:
        super().__init__(target.level)
        self.target = target
        self.limiter = limiter

    def emit(self, record: logging.LogRecord) -> None:
        summaries, passes = self.limiter.check(record)
        for summary in summaries:
            self.target.handle(summary)
        if passes:
            self.target.handle(record)

    def close(self) -> None:
        self.acquire()
        try:
            for summary in self.limiter.flush():
                self.target.handle(summary)
        finally:
            self.release()
        self.target.close()
        super().close()


def setup_logging(log_file: Path | None, level: str = "INFO", limits: LogLimits | None = None) -> None:
    """Log to `log_file` as JSON lines (rotated); warnings also go to stderr (the game shows
    them in its output panel). stdout is reserved for the ready line."""
    limits = limits or LogLimits()
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.setLevel(level.upper())
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        fh = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=limits.max_bytes, backupCount=limits.backups, encoding="utf-8"
        )
        fh.setFormatter(JsonFormatter())
        root.addHandler(_limited(fh, limits))
    err = logging.StreamHandler(sys.stderr)
    err.setLevel(logging.WARNING)
    err.setFormatter(logging.Formatter("parley-sidecar %(levelname)s %(name)s: %(message)s"))
    root.addHandler(_limited(err, limits))
    # httpx logs full URLs at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.Formatter.converter = time.gmtime


def _limited(target: logging.Handler, limits: LogLimits) -> RateLimitedHandler:
    return RateLimitedHandler(target, RepeatLimiter(limits.burst, limits.interval_s))


__all__ = [
    "KEY_FIELDS",
    "JsonFormatter",
    "LogLimits",
    "RateLimitedHandler",
    "RepeatLimiter",
    "log_limits",
    "setup_logging",
]
