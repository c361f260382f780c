"""Makes the raw ZMTP client (raw_zmtp.py, beside this file) importable under pytest's
importlib import mode, which puts no test folder on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
