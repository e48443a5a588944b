"""The language a text is written in: lingua, restricted to the languages the contact centre
reads, in its low-accuracy mode (about 15 MiB resident instead of about 140 MiB for five
languages in high accuracy: docs/decisions/0057)."""

from __future__ import annotations

import threading

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

LANGUAGES = (
    Language.ENGLISH,
    Language.FRENCH,
    Language.GERMAN,
    Language.SPANISH,
    Language.ITALIAN,
    Language.PORTUGUESE,
    Language.DUTCH,
    Language.POLISH,
)
_lock = threading.Lock()
_detector: LanguageDetector | None = None


def detector() -> LanguageDetector:
    global _detector
    with _lock:
        if _detector is None:
            _detector = (
                LanguageDetectorBuilder.from_languages(*LANGUAGES)
                .with_low_accuracy_mode()
                # undecided rather than a guess between two close languages (very short texts)
                .with_minimum_relative_distance(0.05)
                .with_preloaded_language_models()
                .build()
            )
        return _detector


def detect(text: str) -> str | None:
    """ISO 639-1 code, or None when the text is in none of LANGUAGES (another alphabet, emoji)."""
    found = detector().detect_language_of(text) if text.strip() else None
    return found.iso_code_639_1.name.lower() if found is not None else None
