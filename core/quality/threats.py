"""Threat language by rules: the cue phrases of each kind of threat, whether a cue is negated
("I'm not going to sue"), and whether its sentence states an intent. The rules find the evidence
and give the classifier its features; the classifier (core/quality/models.py) decides."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from core.quality.text import sentences

ThreatKind = Literal["legal", "regulator", "social_media"]
THREAT_KINDS: tuple[ThreatKind, ...] = ("legal", "regulator", "social_media")


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b", re.IGNORECASE)


CUES: dict[ThreatKind, re.Pattern[str]] = {
    "legal": _words(
        r"su(?:e|es|ed|ing)",
        r"(?:county |small claims )?courts?",
        r"solicitors?",
        r"lawyers?",
        r"attorneys?",
        r"legal(?:ly)?(?: action| proceedings| advice| representative| route)?",
        r"letter before action",
        r"claim form",
        r"(?:bring|file|filing|issue|start|make) a claim",
        r"claim against",
        r"damages",
        r"litigation",
        r"proceedings",
        # the languages the detector knows beyond English (core/quality/language.py)
        r"avocats?",
        r"porter plainte",
        r"tribunal",
        r"anwalt|anwältin|rechtsanwalt",
        r"verklagen",
        r"gericht",
        r"abogados?",
        r"demandar\w*",
    ),
    "regulator": _words(
        r"(?:financial |energy |relevant )?ombudsman(?: service| scheme)?",
        r"fca",
        r"ofcom",
        r"ofgem",
        r"ico",
        r"information commissioner(?:'s office)?",
        r"trading standards",
        r"regulators?",
        r"regulatory",
        r"consumer protection",
        r"deadlock letter",
        r"data protection regulator",
    ),
    "social_media": _words(
        r"twitter",
        r"tweet\w*",
        r"on x",
        r"facebook",
        r"instagram",
        r"tiktok",
        r"youtube",
        r"linkedin",
        r"reddit",
        r"trustpilot",
        r"reviews?",
        r"review sites?",
        r"one-star",
        r"viral",
        r"the press",
        r"newspapers?",
        r"local paper",
        r"journalists?",
        r"headlines",
        r"bbc",
        r"watchdog",
        r"go(?:ing)? public",
        r"online",
        r"forums?",
        r"name and shame",
        r"followers",
        r"social media",
    ),
}

_NEGATION = re.compile(
    r"\b(?:not|no|never|nor|without|rather not|won't|wont|don't|dont|isn't|aren't|am not|"
    r"n't|no need|no intention)\b|n't\b",
    re.IGNORECASE,
)
_INTENT = re.compile(
    r"\b(?:will|shall|going to|gonna|i'll|we'll|intend|plan|unless|if|or else|next step|"
    r"expect|watch|about to|considering|preparing|prepared|instruct\w*|reporting|escalat\w*|"
    r"taking|getting|hear(?:ing)? (?:from|about)|copied|informed|contacted|consulting|seeking|"
    r"refer|raising|filing|posting|going|blast|name|tell|warn|share|sharing|put|putting|"
    r"post|go)\b",
    re.IGNORECASE,
)
# A cue negated when one of these appears within this many characters before it, in its clause:
# "if it is not paid, I will sue" negates the paying, not the suing.
_NEGATION_WINDOW = 40
# (an emoji ends a clause as a full stop does: "still no refund 😡 I will see you in court")
_CLAUSE = re.compile(
    r"[,:;\U0001F300-\U0001FAFF\u2600-\u27BF]|\b(?:but|then|unless|otherwise)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Cue:
    kind: ThreatKind
    start: int
    end: int
    quote: str
    negated: bool
    intent: bool
    question: bool


def find_cues(text: str) -> list[Cue]:
    found: list[Cue] = []
    spans = sentences(text) or [(0, len(text))]
    for kind, pattern in CUES.items():
        for m in pattern.finditer(text):
            s_start, s_end = next(((a, b) for a, b in spans if a <= m.start() < b), (0, len(text)))
            before = text[max(s_start, m.start() - _NEGATION_WINDOW) : m.start()]
            before = _CLAUSE.split(before)[-1]
            sentence = text[s_start:s_end]
            found.append(
                Cue(
                    kind=kind,
                    start=m.start(),
                    end=m.end(),
                    quote=m.group(),
                    negated=bool(_NEGATION.search(before)),
                    intent=bool(_INTENT.search(sentence)),
                    question=sentence.rstrip().endswith("?"),
                )
            )
    return sorted(found, key=lambda c: c.start)


def cue_features(cues: list[Cue]) -> list[float]:
    """Per kind: a cue present, every cue negated, some un-negated cue in a sentence of intent,
    every cue in a question ("Is your company regulated by the FCA?")."""
    out: list[float] = []
    for kind in THREAT_KINDS:
        mine = [c for c in cues if c.kind == kind]
        out += [
            float(bool(mine)),
            float(bool(mine) and all(c.negated for c in mine)),
            float(any(c.intent and not c.negated for c in mine)),
            float(bool(mine) and all(c.question for c in mine)),
        ]
    return out
