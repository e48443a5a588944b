"""Reading what customers and staff wrote (issue 35): one interface, an offline default,
measured on labelled texts the project ships (python -m core.quality.evaluate)."""

from core.quality.analysis import (
    AnalyserConfigError,
    TextAnalyser,
    TextAnalysis,
    ThreatEvidence,
    load_analyser,
)

__all__ = ["AnalyserConfigError", "TextAnalyser", "TextAnalysis", "ThreatEvidence", "load_analyser"]
