"""The labelled texts the project ships (data/texts.csv): written by the team for this purpose,
not collected from customers (docs/decisions/0057, README "Text analysis")."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from core.quality.threats import THREAT_KINDS, ThreatKind

DATA = Path(__file__).resolve().parent / "data" / "texts.csv"


@dataclass(frozen=True)
class Labelled:
    id: str
    split: str  # "train" or "heldout"
    language: str
    sentiment: str  # negative, neutral, positive
    angry: bool
    threats: frozenset[ThreatKind]
    trigger: str
    category: str
    text: str


def load(path: Path = DATA, split: str | None = None) -> list[Labelled]:
    rows = []
    with path.open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            threats = frozenset(t for t in THREAT_KINDS if t in r["threats"].split(";"))
            row = Labelled(
                id=r["id"],
                split=r["split"],
                language=r["language"],
                sentiment=r["sentiment"],
                angry=r["angry"] == "1",
                threats=threats,
                trigger=r["trigger"],
                category=r["category"],
                text=r["text"],
            )
            if split is None or row.split == split:
                rows.append(row)
    return rows
