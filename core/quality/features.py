"""What every model reads of a text, computed once per text and the same at training and at
analysis: the TF-IDF n-grams, VADER's scores, the style of the text and the threat cues."""

from __future__ import annotations

import re
from dataclasses import dataclass

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from core.quality.text import ngrams
from core.quality.threats import Cue, cue_features, find_cues

_ANGRY_EMOJI = re.compile("[\U0001f620\U0001f621\U0001f624\U0001f92c\U0001f4a2\U0001f595]")
_WORD = re.compile(r"[^\W\d_]{2,}")
# Words of anger and contempt that VADER scores as mildly negative or not at all ("idiots",
# "shambles", "had enough"): a general list, not drawn from the labelled texts.
_ANGER_WORDS = re.compile(
    r"\b(?:furious|livid|fuming|angry|anger|outraged?|outrageous|disgust\w*|disgrace\w*|"
    r"appalling|pathetic|useless|hopeless|incompetent|ridiculous|unacceptable|shocking|"
    r"unbelievable|rubbish|joke|idiots?|clowns?|liars?|lies|lying|scam|theft|robbery|stole|"
    r"insult\w*|shambles|dare|sick of|sick and tired|fed up|had enough|enough|beyond a joke|"
    r"worst|terrible|awful|absurd|nonsense|how many times|never again)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Features:
    grams: list[str]
    vader: dict[str, float]
    cues: list[Cue]
    anger: list[float]
    threat: list[float]


class FeatureMaker:
    def __init__(self) -> None:
        # VADER's lexicon ships inside the package: nothing is downloaded.
        self._vader = SentimentIntensityAnalyzer()

    def make(self, text: str) -> Features:
        vader = (
            self._vader.polarity_scores(text)
            if text
            else {"neg": 0.0, "neu": 1.0, "pos": 0.0, "compound": 0.0}
        )
        cues = find_cues(text)
        words = _WORD.findall(text)
        shouted = sum(1 for w in words if w.isupper() and len(w) > 2)
        anger = [
            vader["neg"],
            vader["pos"],
            vader["compound"],
            min(text.count("!") / 3, 1.0),
            min(shouted / 2, 1.0),
            float(bool(_ANGRY_EMOJI.search(text))),
            float("?!" in text or "!?" in text),
            min(len(_ANGER_WORDS.findall(text)) / 2, 1.0),
        ]
        return Features(ngrams(text), vader, cues, anger, cue_features(cues))
