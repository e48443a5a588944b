"""Turning what a customer wrote into the text the models read: tags stripped, entities decoded,
whitespace folded, the length bounded; and the tokens every model's features are made from."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field

# The models see at most this much of a text: longer texts are cut here (and the result says so),
# which bounds the time per text; complaints worth reading are far shorter.
MAX_CHARS = 4_000

_BLOCKS = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENTS = re.compile(r"<!--.*?-->", re.DOTALL)
_BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h[1-6])\b[^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"</?[A-Za-z][^<>]*>")
_SPACE = re.compile(r"[ \t\f\v\r\u00a0]+")
_LINES = re.compile(r"\s*\n\s*")
# Words in any alphabet (letters with an inner apostrophe: "won't", "l'appel"), numbers, emoji.
_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|\d+|[\U0001F300-\U0001FAFF\u2600-\u27BF]")
_SENTENCE = re.compile(r"[^.!?;\n]+[.!?;]*", re.UNICODE)


@dataclass
class Cleaned:
    text: str
    original_chars: int
    truncated: bool = False
    notes: list[str] = field(default_factory=list)


def clean(raw: object) -> Cleaned:
    """Plain text from anything: None, bytes, markup. Never raises on str input."""
    if raw is None:
        return Cleaned("", 0, notes=["no text"])
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    text = raw if isinstance(raw, str) else str(raw)
    original = len(text)
    notes: list[str] = []
    # Bound the markup work too: 20 KB of HTML is stripped from its first part only.
    if len(text) > MAX_CHARS * 4:
        text = text[: MAX_CHARS * 4]
    if "<" in text and _TAGS.search(text):
        text = _COMMENTS.sub(" ", _BLOCKS.sub(" ", text))
        text = _TAGS.sub(" ", _BREAKS.sub("\n", text))
        notes.append("markup removed")
    text = html.unescape(text)
    # NFKC folds full-width letters and ligatures; lone surrogates (bad decoding) are dropped.
    text = unicodedata.normalize("NFKC", text).encode("utf-8", "ignore").decode("utf-8")
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c)[0] != "C")
    text = _LINES.sub("\n", _SPACE.sub(" ", text)).strip()
    truncated = len(text) > MAX_CHARS
    if truncated:
        text = text[:MAX_CHARS]
        notes.append(f"analysed the first {MAX_CHARS} characters of {original}")
    if not text:
        notes.append("no text")
    return Cleaned(text, original, truncated, notes)


def tokens(text: str) -> list[str]:
    return [t.replace("’", "'") for t in _TOKEN.findall(text.lower())]


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence or clause-ending piece of the text."""
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group().strip()]


def ngrams(text: str) -> list[str]:
    """Word unigrams and bigrams: the TF-IDF features of every trained model."""
    toks = tokens(text)
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]
