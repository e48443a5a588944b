"""Training the offline analyser's models from the labelled texts, with scikit-learn.

    python -m core.quality.train --out models.npz   # at build time (ESCALATIONS_TEXT_MODEL_FILE)
    python -m core.quality.train --out -            # to stdout (the analyser's first use)

Trains on the `train` split only, so the evaluation's held-out figures are those of the model
that runs. Runs in its own process at first use, so scikit-learn never loads into the worker.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from core.quality.data import DATA, Labelled, load
from core.quality.features import FeatureMaker, Features
from core.quality.models import LinearTextModel, Models
from core.quality.threats import THREAT_KINDS

# Inverse regularisation of each logistic regression, chosen per model by 5-fold cross-validation
# on the train split (`python -m core.quality.evaluate --cv`), never on the held-out texts.
C = {"anger": 10.0, "threat": 1.0, "trigger": 1.0, "category": 0.3}
FOLDS = 5


def fit_sklearn(x_grams: list[list[str]], dense: list[list[float]], labels: list[str], c: float):
    """The fitted TfidfVectorizer and LogisticRegression (and the matrix they were fitted on)."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(analyzer=lambda grams: grams, sublinear_tf=True, min_df=1)
    x = vec.fit_transform(x_grams)
    if dense and dense[0]:
        x = hstack([x, csr_matrix(np.asarray(dense, dtype=float))]).tocsr()
    clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    clf.fit(x, labels)
    return vec, clf


def export(vec, clf) -> LinearTextModel:
    """The arrays numpy needs to score as the fitted pair does."""
    return LinearTextModel(
        terms={t: int(i) for t, i in vec.vocabulary_.items()},
        idf=vec.idf_.astype(float),
        coef=clf.coef_.astype(float),
        intercept=clf.intercept_.astype(float),
        classes=tuple(str(c) for c in clf.classes_),
    )


def _fit(
    feats: list[Features], dense: list[list[float]], labels: list[str], c: float
) -> LinearTextModel:
    return export(*fit_sklearn([f.grams for f in feats], dense, labels, c))


def train(
    rows: list[Labelled], maker: FeatureMaker | None = None, c: float | None = None
) -> Models:
    """The six models; `c` (one value for all) is for the cross-validation's grid."""
    cs = dict.fromkeys(C, c) if c is not None else C
    maker = maker or FeatureMaker()
    from core.quality.text import clean

    feats = [maker.make(clean(r.text).text) for r in rows]
    by_name = {
        "anger": _fit(
            feats, [f.anger for f in feats], ["1" if r.angry else "0" for r in rows], cs["anger"]
        ),
        "trigger": _fit(feats, [f.threat for f in feats], [r.trigger for r in rows], cs["trigger"]),
        "category": _fit(feats, [[] for _ in feats], [r.category for r in rows], cs["category"]),
    }
    for kind in THREAT_KINDS:
        by_name[f"threat_{kind}"] = _fit(
            feats,
            [f.threat for f in feats],
            ["1" if kind in r.threats else "0" for r in rows],
            cs["threat"],
        )
    return Models(by_name, trained_on=len(rows), anger_threshold=anger_threshold(feats, rows, cs))


def anger_threshold(feats: list[Features], rows: list[Labelled], cs: dict[str, float]) -> float:
    """The threshold with the best F1 on out-of-fold probabilities (5 folds of the training
    texts): with balanced class weights the model's 0.5 is not the best cut for F1."""
    labels = ["1" if r.angry else "0" for r in rows]
    oof = [0.0] * len(rows)
    for k in range(FOLDS):
        fit = [i for i in range(len(rows)) if i % FOLDS != k]
        model = _fit(
            [feats[i] for i in fit],
            [feats[i].anger for i in fit],
            [labels[i] for i in fit],
            cs["anger"],
        )
        for i in range(k, len(rows), FOLDS):
            oof[i] = model.proba(feats[i].grams, feats[i].anger)["1"]

    def f1(t: float) -> float:
        tp = sum(p >= t and y == "1" for p, y in zip(oof, labels, strict=True))
        fp = sum(p >= t and y == "0" for p, y in zip(oof, labels, strict=True))
        fn = sum(p < t and y == "1" for p, y in zip(oof, labels, strict=True))
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

    grid = [round(0.2 + 0.05 * i, 2) for i in range(13)]  # 0.20 ... 0.80
    # ties go to the threshold nearest 0.5
    return max(grid, key=lambda t: (round(f1(t), 6), -abs(t - 0.5)))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m core.quality.train", description=__doc__)
    p.add_argument("--out", required=True, help="file to write, or - for stdout")
    p.add_argument("--data", type=Path, default=DATA)
    args = p.parse_args(argv)
    blob = train(load(args.data, split="train")).to_bytes()
    if args.out == "-":
        sys.stdout.buffer.write(blob)
    else:
        Path(args.out).write_bytes(blob)


if __name__ == "__main__":
    main()
