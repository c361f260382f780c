"""JSON-lines logging: constant messages, context in `extra`, never keys or player text
above DEBUG."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

_STD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


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


def setup_logging(log_file: Path | None, level: str = "INFO") -> None:
    """Log to `log_file` as JSON lines; warnings also go to stderr (the game shows them in
    its output panel). stdout is reserved for the ready line."""
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(level.upper())
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(log_file, encoding="utf-8")
        fh.setFormatter(JsonFormatter())
        root.addHandler(fh)
    err = logging.StreamHandler(sys.stderr)
    err.setLevel(logging.WARNING)
    err.setFormatter(logging.Formatter("parley-sidecar %(levelname)s %(name)s: %(message)s"))
    root.addHandler(err)
    # httpx logs full URLs at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.Formatter.converter = time.gmtime


__all__ = ["JsonFormatter", "setup_logging"]
