"""Persona tests' helpers: `hostile_corpus` (the hostile persona files, written at test time)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # for `hostile_corpus` under --import-mode=importlib
