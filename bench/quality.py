"""Section *quality*: the text analysis measured by the same code as
`python -m core.quality.evaluate` (held-out precision/recall/F1, time per text on one core,
memory added to a worker). It needs no stack; it runs beside it when others sections do."""

from __future__ import annotations

import asyncio

from bench.scenarios import Results


async def section_quality(res: Results, notes: list[str]) -> None:
    from core.quality.evaluate import TARGETS, cost, quality

    q = await asyncio.to_thread(quality)
    c = await asyncio.to_thread(cost)
    t = q["threats"]["all kinds"]
    res.add(
        "quality",
        "threat recall (held-out)",
        t["recall"],
        "",
        target=TARGETS["threat_recall"],
        better="higher",
    )
    res.add(
        "quality",
        "threat precision (held-out)",
        t["precision"],
        "",
        target=TARGETS["threat_precision"],
        better="higher",
    )
    res.add(
        "quality",
        "anger F1 (held-out)",
        q["anger"]["f1"],
        "",
        target=TARGETS["anger_f1"],
        better="higher",
    )
    res.add(
        "quality", "trigger macro F1 (held-out)", q["trigger"]["macro"]["f1"], "", better="higher"
    )
    res.add(
        "quality", "category macro F1 (held-out)", q["category"]["macro"]["f1"], "", better="higher"
    )
    res.add(
        "quality", "language accuracy (held-out)", q["language"]["accuracy"], "", better="higher"
    )
    res.add(
        "quality",
        "time per text p50, one core",
        c["ms_per_text_p50"],
        "ms",
        target=TARGETS["ms_per_text_p50"],
    )
    res.add(
        "quality",
        "time per text p99, one core",
        c["ms_per_text_p99"],
        "ms",
        target=TARGETS["ms_per_text_p50"],
    )
    res.add(
        "quality",
        "RSS added to a worker",
        c["rss_added_mib"],
        "MiB",
        target=TARGETS["rss_added_mib"],
    )
    notes.append(
        f"Section quality: {q['texts']} held-out texts; per-label figures: "
        "python -m core.quality.evaluate"
    )
