"""The offline analyser's behaviour: what a reader would agree on, not the model's exact figures."""

from __future__ import annotations

import pytest

from core.quality import AnalyserConfigError, TextAnalyser, TextAnalysis, load_analyser
from core.quality.offline import OfflineAnalyser
from core.quality.text import MAX_CHARS


def test_an_obviously_angry_text_is_angry(analyser: OfflineAnalyser) -> None:
    r = analyser.analyse(
        "This is the FOURTH time I've called!!! You are useless and I am absolutely furious."
    )
    assert r.angry
    assert r.sentiment == "negative"


def test_a_neutral_request_is_not_angry(analyser: OfflineAnalyser) -> None:
    r = analyser.analyse("Could you send me a copy of my bill for March, please?")
    assert not r.angry
    assert r.threats == []


def test_a_court_threat_is_a_legal_threat_with_its_evidence(analyser: OfflineAnalyser) -> None:
    r = analyser.analyse("I will take you to court")
    assert r.threats == ["legal"]
    assert r.trigger == "legal_threat"
    (ev,) = r.threat_evidence
    assert ev.kind == "legal"
    assert r.text_analysed[ev.start : ev.end] == ev.quote == "court"


@pytest.mark.parametrize(
    "text",
    [
        "I'm not threatening legal action",
        "I'm not going to sue, I just want my refund",
        "I won't be posting about this online, I just need the parcel delivered.",
    ],
)
def test_a_denied_threat_is_no_threat(analyser: OfflineAnalyser, text: str) -> None:
    assert analyser.analyse(text).threats == []


def test_regulator_and_social_media_threats(analyser: OfflineAnalyser) -> None:
    assert "regulator" in analyser.analyse("I am reporting you to the ombudsman.").threats
    assert "social_media" in analyser.analyse("I'll post the whole story on Twitter.").threats


def test_the_language(analyser: OfflineAnalyser) -> None:
    assert analyser.analyse("My parcel never arrived and I would like a refund.").language == "en"
    fr = analyser.analyse("Mon colis n'est jamais arrivé, je voudrais un remboursement.")
    assert fr.language == "fr"
    assert any("English" in n for n in fr.notes)


def test_suggestions_are_from_the_policy_vocabulary(analyser: OfflineAnalyser) -> None:
    r = analyser.analyse("The broadband has dropped every evening this week.")
    assert r.trigger is not None and 0 < r.trigger_confidence <= 1
    assert r.category in {"billing", "delivery", "technical", "account", "returns", "general"}


# --- bad input: always an answer --------------------------------------------------------------


def test_empty_text(analyser: OfflineAnalyser) -> None:
    for text in ("", "   \n\t "):
        r = analyser.analyse(text)
        assert not r.angry and r.threats == [] and r.trigger is None
        assert "no text" in r.notes


def test_twenty_kilobytes_are_cut_and_the_result_says_so(analyser: OfflineAnalyser) -> None:
    text = "I will take you to court. " + "I have waited weeks for my refund. " * 600
    assert len(text) > 20_000
    r = analyser.analyse(text)
    assert r.truncated
    assert len(r.text_analysed) == MAX_CHARS
    assert any(str(len(text)) in n for n in r.notes)
    assert r.threats == ["legal"]


def test_another_alphabet(analyser: OfflineAnalyser) -> None:
    r = analyser.analyse("Мой интернет не работает уже неделю, это возмутительно")
    assert isinstance(r, TextAnalysis)
    assert r.language is None  # not one of the languages the detector is restricted to
    assert r.threats == []
    r = analyser.analyse("Мой интернет не работает", language_hint="ru")
    assert r.language == "ru"


def test_emoji(analyser: OfflineAnalyser) -> None:
    r = analyser.analyse("😡😡😡")
    assert isinstance(r, TextAnalysis) and r.threats == []
    r = analyser.analyse("Still no refund 😡 I will see you in court 🤬")
    assert r.threats == ["legal"]


def test_markup_is_stripped_before_reading(analyser: OfflineAnalyser) -> None:
    html = (
        "<html><head><style>p{color:red}</style><script>alert('court')</script></head>"
        "<body><p>I will take you to <b>court</b>&nbsp;&amp; the ombudsman!</p></body></html>"
    )
    r = analyser.analyse(html)
    assert "<" not in r.text_analysed and "alert" not in r.text_analysed
    assert "markup removed" in r.notes
    assert set(r.threats) == {"legal", "regulator"}


def test_a_failure_inside_is_an_answer_not_an_exception(analyser: OfflineAnalyser) -> None:
    broken = OfflineAnalyser(models=analyser._models)
    broken.load()

    class Boom:
        def make(self, text: str) -> None:
            raise RuntimeError("boom")

    broken._maker = Boom()  # type: ignore[assignment]
    r = broken.analyse("I will take you to court")
    assert not r.angry and r.threats == []
    assert any("analysis failed" in n for n in r.notes)


# --- choosing the implementation --------------------------------------------------------------


class Fixed:
    def analyse(self, text: str, *, language_hint: str | None = None) -> TextAnalysis:
        return TextAnalysis(
            analyser="fixed", sentiment="neutral", sentiment_score=0, angry=False, anger_score=0
        )


def test_the_default_analyser_is_the_offline_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESCALATIONS_TEXT_ANALYSER", raising=False)
    assert isinstance(load_analyser(), OfflineAnalyser)


def test_another_analyser_by_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESCALATIONS_TEXT_ANALYSER", f"{__name__}:Fixed")
    a = load_analyser()
    assert isinstance(a, TextAnalyser)
    assert a.analyse("anything").analyser == "fixed"


@pytest.mark.parametrize(
    "path", ["nomodule", "no.such.module:X", f"{__name__}:Missing", "json:dumps"]
)
def test_a_bad_analyser_setting_is_refused(path: str) -> None:
    with pytest.raises(AnalyserConfigError):
        load_analyser(path)


def test_training_falls_back_to_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.quality.offline as offline

    def fails() -> None:
        raise RuntimeError("no child process here")

    monkeypatch.setattr(offline, "train_in_subprocess", fails)
    r = OfflineAnalyser(model_file="").analyse("I will take you to court")
    assert r.threats == ["legal"]


def test_punctuation_alone_is_nothing_to_read(analyser: OfflineAnalyser) -> None:
    r = analyser.analyse("?!... --- !!!")
    assert not r.angry and r.threats == [] and "no words to read" in r.notes
