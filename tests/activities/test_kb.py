"""Knowledge-base search on the demo articles (config/kb) and on temporary ones."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from activities.kb import KbActivities
from core.kb import KnowledgeBase, parse_article, query_terms
from core.settings import CONFIG_DIR
from tests.activities.conftest import make_settings
from workflows.messages import KbQuery, KbResult

DEMO_KB = CONFIG_DIR / "kb"


@pytest.fixture
def kb(tmp_path) -> KbActivities:
    return KbActivities(make_settings(tmp_path, kb_dir=DEMO_KB))


async def search(kb: KbActivities, category: str, text: str, limit: int = 3) -> KbResult:
    return await ActivityEnvironment().run(
        kb.search_knowledge_base, KbQuery(category=category, text=text, limit=limit)
    )


@pytest.mark.parametrize(
    ("category", "text", "expected"),
    [
        ("billing", "charged twice for March", "duplicate-charge-refund"),
        ("billing", "Late payment fee on my bill, can you remove it?", "fee-waivers"),
        (
            "technical",
            "internet down since yesterday, no connection",
            "broadband-outage-troubleshooting",
        ),
        ("technical", "router shows a red light after restart", "router-reset"),
        (
            "delivery",
            "parcel never arrived, tracking says delivered",
            "missing-delivery-replacement",
        ),
        ("account", "locked out, forgot my password", "account-locked-password-reset"),
        (
            "complaints",
            "very unhappy, want compensation for the missed engineer",
            "complaint-handling-goodwill",
        ),
        ("legal", "my solicitor will take you to court", "legal-threats-data-requests"),
        (
            "other",
            "I want a copy of all my personal data under GDPR",
            "legal-threats-data-requests",
        ),
    ],
)
async def test_demo_articles_rank_first(kb, category, text, expected):
    result = await search(kb, category, text)
    assert result.matches, (category, text)
    top = result.matches[0]
    assert top.slug == expected
    assert top.title and top.snippet
    scores = [m.score for m in result.matches]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0


async def test_duplicate_charge_example(kb):
    result = await search(kb, "billing", "charged twice for March", limit=2)
    assert [m.slug for m in result.matches][0] == "duplicate-charge-refund"
    assert result.matches[0].title.startswith("Duplicate charge")
    assert "**" in result.matches[0].snippet  # matched terms are highlighted
    assert len(result.matches) <= 2


async def test_category_boost_breaks_close_calls(kb):
    # "refund" appears in billing and delivery articles; the category decides
    billing = await search(kb, "billing", "refund")
    delivery = await search(kb, "delivery", "refund")
    assert billing.matches[0].slug == "duplicate-charge-refund"
    assert delivery.matches[0].slug == "missing-delivery-replacement"


@pytest.mark.parametrize(
    "text",
    [
        '"charged twice',
        "charged AND twice OR NOT",
        "refund* -duplicate (march) NEAR(a b)",
        "title:refund category:billing ^start",
        "'; DROP TABLE kb_articles; --",
        "\"\" '' `` {} [] <> ~ \\ / : ; , . ! ? @ # $ % & + = |",
        "AND",
        "   ",
        "",
        "ünïcödé café naïve 日本語 emoji 🙂",
        "x" * 5000,
        " ".join(f"word{i}" for i in range(500)),
    ],
)
async def test_hostile_text_never_raises(kb, text):
    result = await search(kb, "billing", text)
    assert isinstance(result, KbResult)


async def test_fts_operators_are_plain_words(kb):
    result = await search(kb, "billing", 'charged "twice AND (March*)')
    assert result.matches[0].slug == "duplicate-charge-refund"


def test_query_terms_are_safe_tokens():
    terms = query_terms("Billing", 'Charged "twice" AND (March*) -x_y_ NEAR')
    assert terms == ["billing", "charged", "twice", "march", "x_y", "near"]
    assert all('"' not in t for t in terms)


def test_article_format(tmp_path):
    p = tmp_path / "my-article.md"
    p.write_text(
        "\n# A title\n\ncategory: Billing\ntags: a, B ,c\n\nNote: body starts here\nmore\n"
    )
    a = parse_article(p)
    assert (a.slug, a.title, a.category) == ("my-article", "A title", "billing")
    assert a.tags == ["a", "b", "c"]
    assert a.body == "Note: body starts here\nmore"
    q = tmp_path / "untitled.md"
    q.write_text("just text\n")
    assert parse_article(q).title == "untitled" and parse_article(q).body == "just text"


async def test_index_rebuilds_when_articles_change(tmp_path):
    kb_dir = tmp_path / "kb"
    shutil.copytree(DEMO_KB, kb_dir)
    acts = KbActivities(make_settings(tmp_path, kb_dir=kb_dir))
    assert not (await search(acts, "pets", "hamster insurance")).matches
    (kb_dir / "pet-insurance.md").write_text(
        "# Pet insurance claims\ncategory: pets\ntags: hamster\n\nHow to claim for a hamster.\n"
    )
    assert (await search(acts, "pets", "hamster insurance")).matches[0].slug == "pet-insurance"
    # an edited article is re-read (mtime and size change)
    art = kb_dir / "router-reset.md"
    art.write_text(art.read_text() + "\nAlso covers the zebra-pattern blinking light.\n")
    st = art.stat()
    os.utime(art, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert (await search(acts, "technical", "zebra")).matches[0].slug == "router-reset"
    # a removed article disappears; a fresh instance (another worker) reuses the stored index
    (kb_dir / "pet-insurance.md").unlink()
    other = KbActivities(make_settings(tmp_path, kb_dir=kb_dir))
    assert not (await search(other, "pets", "hamster")).matches


def test_concurrent_first_builds_are_safe(tmp_path):
    db = tmp_path / "shared" / "kb.sqlite"
    errors: list[BaseException] = []
    results: list[str] = []
    barrier = threading.Barrier(6)

    def worker() -> None:
        try:
            kb = KnowledgeBase(DEMO_KB, db)  # a separate "worker process" each
            barrier.wait()
            results.append(kb.search("billing", "charged twice", 1)[0].slug)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert results == ["duplicate-charge-refund"] * 6


async def test_missing_kb_dir_gives_no_matches(tmp_path):
    acts = KbActivities(make_settings(tmp_path, kb_dir=tmp_path / "nowhere"))
    assert (await search(acts, "billing", "charged twice")).matches == []


def test_default_settings_point_at_the_demo_articles():
    assert len(list(Path(DEMO_KB).glob("*.md"))) >= 8
