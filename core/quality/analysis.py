"""The one interface to text analysis: what a reading of a customer's text says, and how the
implementation that reads it is chosen.

The default (core/quality/offline.py) runs offline with models trained from the labelled texts in
the repo. A team with a hosted model plugs theirs in by configuration:

    ESCALATIONS_TEXT_ANALYSER=mypackage.analysis:HostedAnalyser

names an object with an `analyse(text, *, language_hint=None) -> TextAnalysis` method, or a
class or function that returns one when called with no arguments.
"""

from __future__ import annotations

import importlib
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.quality.threats import ThreatKind
from workflows.models import Trigger

Sentiment = Literal["negative", "neutral", "positive"]


class ThreatEvidence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ThreatKind
    start: int = Field(description="Offset in `TextAnalysis.text_analysed`")
    end: int
    quote: str


class TextAnalysis(BaseModel):
    model_config = ConfigDict(extra="forbid")

    analyser: str = Field(description="Which implementation answered, with its model version")
    sentiment: Sentiment
    sentiment_score: float = Field(ge=-1, le=1, description="-1 most negative, +1 most positive")
    angry: bool
    anger_score: float = Field(ge=0, le=1)
    threats: list[ThreatKind] = Field(default_factory=list)
    threat_evidence: list[ThreatEvidence] = Field(default_factory=list)
    language: str | None = Field(
        None, description="ISO 639-1 code; None when not one the analyser knows"
    )
    trigger: Trigger | None = Field(None, description="Suggested trigger, beside the agent's")
    trigger_confidence: float = Field(0.0, ge=0, le=1)
    category: str | None = None
    category_confidence: float = Field(0.0, ge=0, le=1)
    text_analysed: str = Field("", description="The text the models read (markup removed)")
    truncated: bool = Field(False, description="Only the first part of a long text was read")
    notes: list[str] = Field(default_factory=list)


@runtime_checkable
class TextAnalyser(Protocol):
    def analyse(self, text: str, *, language_hint: str | None = None) -> TextAnalysis:
        """Always an answer: bad input (empty, huge, markup, any alphabet) never raises."""
        ...


class AnalysisSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESCALATIONS_", env_file=".env", extra="ignore")

    text_analyser: str = Field(
        "core.quality.offline:OfflineAnalyser",
        description="module:attribute of the TextAnalyser (an instance, or a factory of one)",
    )
    text_model_file: str | None = Field(
        None,
        description="Models written by `python -m core.quality.train --out FILE`; unset: the "
        "offline analyser trains them at first use (a few seconds, in a subprocess)",
    )


class AnalyserConfigError(Exception):
    pass


def load_analyser(path: str | None = None) -> TextAnalyser:
    """The analyser that `path` (default: ESCALATIONS_TEXT_ANALYSER) names."""
    path = path or AnalysisSettings().text_analyser
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise AnalyserConfigError(f"text analyser {path!r}: expected module:attribute")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise AnalyserConfigError(f"text analyser {path!r}: {e}") from e
    if not isinstance(obj, TextAnalyser) or isinstance(obj, type):
        try:
            obj = obj()
        except TypeError as e:
            raise AnalyserConfigError(f"text analyser {path!r}: cannot be called: {e}") from e
    if not isinstance(obj, TextAnalyser):
        raise AnalyserConfigError(f"text analyser {path!r} has no analyse(text, ...) method")
    return obj
