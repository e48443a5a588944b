"""The default analyser: offline, nothing downloaded. VADER for sentiment and anger features,
rules plus a classifier for threats, TF-IDF + logistic regression for trigger and category,
lingua for the language."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import structlog

from core.quality.analysis import AnalysisSettings, Sentiment, TextAnalysis, ThreatEvidence
from core.quality.features import FeatureMaker
from core.quality.language import detect
from core.quality.models import Models
from core.quality.text import clean
from core.quality.threats import THREAT_KINDS, ThreatKind

log = structlog.get_logger("core.quality")

NAME = "offline-1"
THREAT_THRESHOLD = 0.5
THREAT_TRIGGERS = {
    "legal": "legal_threat",
    "regulator": "regulator_threat",
    "social_media": "social_media_threat",
}
_ROOT = Path(__file__).resolve().parent.parent.parent


def cache_file() -> Path:
    """Where this machine keeps the models trained from these labelled texts by this code: one
    training per machine, not per worker process (a new worker, or a test's, reads the file)."""
    digest = hashlib.sha256(NAME.encode())
    for part in ("data/texts.csv", "train.py", "features.py", "models.py"):
        digest.update((Path(__file__).parent / part).read_bytes())
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "escalations"
    return base / f"text-models-{digest.hexdigest()[:16]}.bin"


def cached_models() -> Models:
    """The cached models, else trained in a child process and cached (written whole or not at
    all: a half-written file is never read)."""
    path = cache_file()
    try:
        return Models.from_bytes(path.read_bytes())
    except Exception:  # noqa: BLE001 - missing, or not a model file of this format: train
        pass
    models = train_in_subprocess()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(models.to_bytes())
        tmp.replace(path)
    except OSError as e:  # a read-only home: train again next time, nothing worse
        log.warning("text models not cached", error=str(e)[-200:])
    return models


def train_in_subprocess(timeout_s: float = 120) -> Models:
    """Models trained by `python -m core.quality.train` in a child process: scikit-learn's
    memory is the child's and is returned to the system when it exits."""
    done = subprocess.run(
        [sys.executable, "-m", "core.quality.train", "--out", "-"],
        capture_output=True,
        timeout=timeout_s,
        cwd=_ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"training failed: {done.stderr.decode(errors='replace')[-500:]}")
    return Models.from_bytes(done.stdout)


def nothing(notes: list[str], **more: Any) -> TextAnalysis:
    """The answer for a text with nothing to read in it (or one the analysis failed on)."""
    return TextAnalysis(
        analyser=NAME,
        sentiment="neutral",
        sentiment_score=0.0,
        angry=False,
        anger_score=0.0,
        notes=notes,
        **more,
    )


class OfflineAnalyser:
    def __init__(self, models: Models | None = None, model_file: str | None = None) -> None:
        self._models = models
        self._model_file = (
            model_file if model_file is not None else AnalysisSettings().text_model_file
        )
        self._maker: FeatureMaker | None = None
        self._lock = threading.Lock()

    def load(self) -> OfflineAnalyser:
        """Load (or train) the models now rather than at the first text."""
        with self._lock:
            if self._maker is None:
                self._maker = FeatureMaker()
            if self._models is None:
                if self._model_file:
                    self._models = Models.from_bytes(Path(self._model_file).read_bytes())
                else:
                    try:
                        self._models = cached_models()
                    except (OSError, RuntimeError, ValueError, subprocess.SubprocessError) as e:
                        # still an analyser, at scikit-learn's memory cost in this process
                        log.warning("training in a child process failed", error=str(e)[-300:])
                        from core.quality.data import load
                        from core.quality.train import train

                        self._models = train(load(split="train"), self._maker)
                log.info("text models loaded", analyser=NAME, trained_on=self._models.trained_on)
            detect("warm up")
        return self

    def analyse(self, text: str, *, language_hint: str | None = None) -> TextAnalysis:
        try:
            return self._analyse(text, language_hint)
        except Exception as e:  # noqa: BLE001 - an answer for every text, the failure noted
            # the type only: a message may quote the customer's text
            log.warning("text analysis failed", error=type(e).__name__)
            return nothing([f"analysis failed ({type(e).__name__}); nothing was detected"])

    def _analyse(self, raw: str, language_hint: str | None) -> TextAnalysis:
        self.load()
        assert self._maker is not None and self._models is not None
        c = clean(raw)
        notes = list(c.notes)
        # nothing to read: no text, or ASCII punctuation alone (emoji go on to the models)
        if not c.text or (c.text.isascii() and not any(ch.isalnum() for ch in c.text)):
            said = notes if "no text" in notes else [*notes, "no words to read"]
            return nothing(said, text_analysed=c.text, truncated=c.truncated)
        f = self._maker.make(c.text)
        m = self._models
        compound = f.vader["compound"]
        # VADER's own convention for the three classes
        sentiment: Sentiment = (
            "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
        )
        anger = m["anger"].proba(f.grams, f.anger)["1"]

        threats: list[ThreatKind] = []
        evidence: list[ThreatEvidence] = []
        scores: dict[ThreatKind, float] = {}
        for kind in THREAT_KINDS:
            # A negated cue is no evidence ("I'm not going to sue"): the rule vetoes, whatever
            # the classifier would say, and no cue means nothing to show the agent.
            cues = [q for q in f.cues if q.kind == kind and not q.negated]
            if not cues:
                continue
            scores[kind] = m[f"threat_{kind}"].proba(f.grams, f.threat)["1"]
            if scores[kind] >= THREAT_THRESHOLD:
                threats.append(kind)
                evidence += [
                    ThreatEvidence(kind=kind, start=q.start, end=q.end, quote=q.quote) for q in cues
                ]

        trigger_p = m["trigger"].proba(f.grams, f.threat)
        if threats:
            # the threat named first in the text is the trigger the agent would choose
            first = min(evidence, key=lambda e: e.start).kind
            trigger, trigger_conf = THREAT_TRIGGERS[first], scores[first]
        else:
            others = {k: v for k, v in trigger_p.items() if k not in THREAT_TRIGGERS.values()}
            trigger = max(others, key=others.__getitem__)
            trigger_conf = others[trigger] / (sum(others.values()) or 1.0)
        category_p = m["category"].proba(f.grams, [])
        category = max(category_p, key=category_p.__getitem__)

        language = detect(c.text)
        if language is None and language_hint:
            language = language_hint.lower()[:2]
            notes.append("language from the hint")
        if language not in (None, "en"):
            notes.append("sentiment and anger models read English; other languages less well")
        return TextAnalysis(
            analyser=NAME,
            sentiment=sentiment,
            sentiment_score=max(-1.0, min(1.0, compound)),
            angry=anger >= m.anger_threshold,
            anger_score=anger,
            threats=threats,
            threat_evidence=sorted(evidence, key=lambda e: e.start),
            language=language,
            trigger=trigger,  # type: ignore[arg-type]  # a class of the labelled data: a Trigger
            trigger_confidence=min(1.0, trigger_conf),
            category=category,
            category_confidence=category_p[category],
            text_analysed=c.text,
            truncated=c.truncated,
            notes=notes,
        )
