"""The labelled texts, the numpy scorer against scikit-learn, and the measured quality."""

from __future__ import annotations

from typing import get_args

import numpy as np

from core.quality.data import load
from core.quality.evaluate import score
from core.quality.features import FeatureMaker
from core.quality.models import Models
from core.quality.offline import OfflineAnalyser
from core.quality.text import clean
from core.quality.train import export, fit_sklearn
from workflows.models import Trigger


def test_the_labelled_texts_and_their_fixed_split() -> None:
    rows = load()
    assert len(rows) >= 300
    assert len({r.id for r in rows}) == len(rows)
    held = [r for r in rows if r.split == "heldout"]
    assert {r.split for r in rows} == {"train", "heldout"}
    assert 0.25 <= len(held) / len(rows) <= 0.4
    assert {r.trigger for r in rows} <= set(get_args(Trigger))
    # hard negatives (a threat's words, no threat) on both sides of the split
    words = ("sue", "court", "lawyer", "solicitor", "ombudsman", "twitter", "review")
    hard = [r for r in rows if not r.threats and any(w in r.text.lower() for w in words)]
    assert {r.split for r in hard} == {"train", "heldout"}
    for kind in ("legal", "regulator", "social_media"):
        assert sum(kind in r.threats for r in held) >= 8


def test_the_numpy_scorer_gives_scikit_learns_probabilities() -> None:
    maker = FeatureMaker()
    train = load(split="train")
    held = load(split="heldout")
    feats = [maker.make(clean(r.text).text) for r in train]
    vec, clf = fit_sklearn(
        [f.grams for f in feats], [f.anger for f in feats], [r.trigger for r in train], 1.0
    )
    model = export(vec, clf)
    from scipy.sparse import csr_matrix, hstack

    hf = [maker.make(clean(r.text).text) for r in held]
    x = hstack([vec.transform([f.grams for f in hf]), csr_matrix(np.array([f.anger for f in hf]))])
    expected = clf.predict_proba(x.tocsr())
    got = np.array([[model.proba(f.grams, f.anger)[c] for c in clf.classes_] for f in hf])
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_models_survive_the_file(analyser: OfflineAnalyser) -> None:
    assert analyser._models is not None
    again = OfflineAnalyser(Models.from_bytes(analyser._models.to_bytes()))
    text = "Refund me today or I'll see you in court, this is disgusting!!!"
    assert again.analyse(text) == analyser.analyse(text)


def test_the_scores_count_what_they_should() -> None:
    rows = load(split="heldout")[:3]
    from core.quality.analysis import TextAnalysis

    got = [
        TextAnalysis(
            analyser="labels",
            sentiment=r.sentiment,  # type: ignore[arg-type]
            sentiment_score=0,
            angry=r.angry,
            anger_score=float(r.angry),
            threats=sorted(r.threats),
            trigger=r.trigger,  # type: ignore[arg-type]
            category=r.category,
            language=r.language,
        )
        for r in rows
    ]
    s = score(rows, got)
    assert s["trigger"]["accuracy"]["accuracy"] == 1.0
    assert s["threat_misses"] == []
    flipped = [g.model_copy(update={"angry": not g.angry}) for g in got]
    assert score(rows, flipped)["anger"]["f1"] == 0.0


# The models' figures on the held-out split (precision, recall, F1 against the targets) are
# measured by `python -m core.quality.evaluate` and the bench's quality section, not asserted
# here: a test pins behaviour (tests/quality/test_analysis.py), the bench reports quality.
