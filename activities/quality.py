"""Reading what a customer wrote (``read_text``): the text analysis of core/quality behind an
activity, so the workflow stays deterministic and a model's cost (its first use trains it, a few
seconds in a subprocess) is the worker's, never the workflow task's."""

from __future__ import annotations

import asyncio
import threading

from temporalio import activity

from activities.logging import activity_context
from core.quality.analysis import TextAnalyser, load_analyser
from workflows.messages import TextToRead
from workflows.models import TextReading

QUOTE_CHARS = 200
_SHARED: list[TextAnalyser] = []  # one per process: the models are read-only once trained
_LOCK = threading.Lock()  # one training, however many cases arrive at once


def shared_analyser() -> TextAnalyser:
    with _LOCK:
        if not _SHARED:
            _SHARED.append(load_analyser())
        return _SHARED[0]


class QualityActivities:
    def __init__(self, analyser: TextAnalyser | None = None) -> None:
        self._analyser = analyser

    def analyser(self) -> TextAnalyser:
        return self._analyser or shared_analyser()

    def read(self, text: str) -> TextReading:
        a = self.analyser().analyse(text)
        return TextReading(
            angry=a.angry,
            anger_score=round(a.anger_score, 3),
            sentiment=a.sentiment,
            threats=list(dict.fromkeys(a.threats)),
            evidence=[e.quote[:QUOTE_CHARS] for e in a.threat_evidence[:3]],
            language=a.language,
            trigger=a.trigger,
            trigger_confidence=round(a.trigger_confidence, 3),
            category=a.category,
            category_confidence=round(a.category_confidence, 3),
            analyser=a.analyser,
        )

    @activity.defn(name="read_text")
    async def read_text(self, t: TextToRead) -> TextReading:
        with activity_context(escalation_id=t.escalation_id) as alog:
            reading = await asyncio.to_thread(self.read, t.text)
            # what the text says is the customer's: only the labels are logged
            alog.info("text_read", angry=reading.angry, threats=reading.threats)
            return reading
