"""The trained models as plain arrays: TF-IDF weights and a linear model's coefficients, scored
with numpy alone. Training needs scikit-learn (core/quality/train.py); the analyser does not, so
the worker never imports it (its import alone adds about 80 MiB: docs/decisions/0057)."""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MODEL_NAMES = (
    "anger",
    "threat_legal",
    "threat_regulator",
    "threat_social_media",
    "trigger",
    "category",
)
FORMAT = 2


@dataclass(frozen=True)
class LinearTextModel:
    """Sublinear TF-IDF of n-grams (l2-normalised), then dense features, then a linear model:
    what sklearn's TfidfVectorizer(sublinear_tf=True) + LogisticRegression compute."""

    terms: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray  # (1 for a binary model, else one row per class) x (terms + dense)
    intercept: np.ndarray
    classes: tuple[str, ...]

    def proba(self, grams: Sequence[str], dense: Sequence[float]) -> dict[str, float]:
        counts = Counter(self.terms[g] for g in grams if g in self.terms)
        n = len(self.terms)
        z = self.intercept.astype(float).copy()
        if counts:
            idx = np.fromiter(counts.keys(), dtype=np.int64)
            tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=float)
            vals = tf * self.idf[idx]
            vals /= np.sqrt(vals @ vals)
            z += self.coef[:, idx] @ vals
        if len(dense):
            z += self.coef[:, n:] @ np.asarray(dense, dtype=float)
        if len(self.classes) == 2:
            p = 1.0 / (1.0 + math.exp(-float(z[0])))
            return {self.classes[0]: 1.0 - p, self.classes[1]: p}
        e = np.exp(z - z.max())
        e /= e.sum()
        return dict(zip(self.classes, (float(v) for v in e), strict=True))


@dataclass(frozen=True)
class Models:
    by_name: dict[str, LinearTextModel]
    trained_on: int  # labelled texts
    # the probability above which a text is angry, chosen at training (core/quality/train.py)
    anger_threshold: float = 0.5

    def __getitem__(self, name: str) -> LinearTextModel:
        return self.by_name[name]

    def to_bytes(self) -> bytes:
        arrays: dict[str, np.ndarray] = {
            "format": np.array(FORMAT),
            "trained_on": np.array(self.trained_on),
            "anger_threshold": np.array(self.anger_threshold),
        }
        for name, m in self.by_name.items():
            terms = sorted(m.terms, key=m.terms.__getitem__)
            arrays[f"{name}.terms"] = np.array(terms, dtype=np.str_)
            arrays[f"{name}.idf"] = m.idf
            arrays[f"{name}.coef"] = m.coef
            arrays[f"{name}.intercept"] = m.intercept
            arrays[f"{name}.classes"] = np.array(m.classes, dtype=np.str_)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Models:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            if int(z["format"]) != FORMAT:
                raise ValueError(f"model file format {int(z['format'])}, expected {FORMAT}")
            by_name = {
                name: LinearTextModel(
                    terms={t: i for i, t in enumerate(z[f"{name}.terms"].tolist())},
                    idf=z[f"{name}.idf"],
                    coef=z[f"{name}.coef"],
                    intercept=z[f"{name}.intercept"],
                    classes=tuple(z[f"{name}.classes"].tolist()),
                )
                for name in MODEL_NAMES
            }
            return cls(by_name, int(z["trained_on"]), float(z["anger_threshold"]))
