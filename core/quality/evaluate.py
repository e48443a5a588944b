"""The analyser's quality, measured on the held-out split of the labelled texts it ships.

    python -m core.quality.evaluate            # precision/recall/F1 per label, time, memory
    python -m core.quality.evaluate --json     # the same figures as JSON
    python -m core.quality.evaluate --cv       # 5-fold cross-validation on the train split only
                                               # (how the regularisation was chosen)

Time per text and memory are measured in a child process pinned to one core that first imports
the worker (worker.main), so the memory is what loading the analyser adds to a worker.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import structlog

from core.quality.analysis import TextAnalysis
from core.quality.data import Labelled, load
from core.quality.models import Models
from core.quality.offline import OfflineAnalyser
from core.quality.threats import THREAT_KINDS

TARGETS = {
    "threat_recall": 0.95,
    "threat_precision": 0.80,
    "anger_f1": 0.80,
    "ms_per_text_p50": 20.0,
    "rss_added_mib": 150.0,
}
_ROOT = Path(__file__).resolve().parent.parent.parent


def prf(pairs: Iterable[tuple[bool, bool]]) -> dict[str, float | int]:
    """Precision, recall, F1 of (labelled, predicted) pairs for one label."""
    tp = fp = fn = 0
    for truth, pred in pairs:
        tp += truth and pred
        fp += pred and not truth
        fn += truth and not pred
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1, "support": tp + fn, "predicted": tp + fp}


def _per_class(
    rows: list[Labelled],
    got: list[TextAnalysis],
    truth: Callable[[Labelled], str],
    pred: Callable[[TextAnalysis], str | None],
) -> dict[str, dict[str, float | int]]:
    classes = sorted({truth(r) for r in rows})
    out = {
        c: prf((truth(r) == c, pred(a) == c) for r, a in zip(rows, got, strict=True))
        for c in classes
    }
    out["macro"] = {
        k: statistics.fmean(float(v[k]) for v in out.values())
        for k in ("precision", "recall", "f1")
    }
    out["accuracy"] = {
        "accuracy": sum(truth(r) == pred(a) for r, a in zip(rows, got, strict=True)) / len(rows)
    }
    return out


def score(rows: list[Labelled], got: list[TextAnalysis]) -> dict:
    pairs = list(zip(rows, got, strict=True))
    threats: dict[str, dict[str, float | int]] = {
        k: prf((k in r.threats, k in a.threats) for r, a in pairs) for k in THREAT_KINDS
    }
    # every (text, kind) pair: a regulator threat found as a legal one is a miss and a false alarm
    threats["all kinds"] = prf(
        (k in r.threats, k in a.threats) for r, a in pairs for k in THREAT_KINDS
    )
    threats["any threat"] = prf((bool(r.threats), bool(a.threats)) for r, a in pairs)
    lang_rows = [(r, a) for r, a in pairs]
    return {
        "texts": len(rows),
        "anger": prf((r.angry, a.angry) for r, a in pairs),
        "threats": threats,
        "sentiment": _per_class(rows, got, lambda r: r.sentiment, lambda a: a.sentiment),
        "trigger": _per_class(rows, got, lambda r: r.trigger, lambda a: a.trigger),
        "category": _per_class(rows, got, lambda r: r.category, lambda a: a.category),
        "language": {
            "accuracy": sum(r.language == a.language for r, a in lang_rows) / len(lang_rows),
            "not english": prf(
                (r.language != "en", a.language not in ("en", None)) for r, a in lang_rows
            ),
            "misread": [
                {"id": r.id, "labelled": r.language, "detected": a.language}
                for r, a in lang_rows
                if r.language != a.language
            ],
        },
        "threat_misses": [
            {"id": r.id, "labelled": sorted(r.threats), "found": a.threats, "text": r.text}
            for r, a in pairs
            if set(r.threats) != set(a.threats)
        ],
    }


def quality(models: Models | None = None) -> dict:
    """The held-out figures of the shipped analyser (trained on the train split only)."""
    analyser = OfflineAnalyser(models).load()
    rows = load(split="heldout")
    return score(rows, [analyser.analyse(r.text) for r in rows])


def _probe() -> None:
    """Child process: pinned to one core, the worker imported, then the analyser loaded."""
    import psutil

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    import worker.main  # noqa: F401 - the baseline is a worker's own imports

    proc = psutil.Process()
    before = proc.memory_info().rss
    analyser = OfflineAnalyser().load()
    analyser.analyse("warm up: the first text loads what is lazily loaded")
    added = (proc.memory_info().rss - before) / 2**20
    texts = [r.text for r in load()]
    times: list[float] = []
    for _ in range(5):
        for t in texts:
            t0 = time.perf_counter()
            analyser.analyse(t)
            times.append((time.perf_counter() - t0) * 1000)
    big = ("I have been waiting for weeks and nobody calls me back. " * 400)[:20_000]
    big_ms = []
    for _ in range(20):
        t0 = time.perf_counter()
        analyser.analyse(big)
        big_ms.append((time.perf_counter() - t0) * 1000)
    q = statistics.quantiles(times, n=100)
    print(
        json.dumps(
            {
                "rss_added_mib": added,
                "ms_per_text_p50": statistics.median(times),
                "ms_per_text_p99": q[98],
                "ms_20kb_text_p50": statistics.median(big_ms),
                "timed": len(times),
                "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            }
        )
    )


def cost() -> dict:
    """Time per text and resident memory added, from a fresh child process."""
    done = subprocess.run(
        [sys.executable, "-m", "core.quality.evaluate", "--probe"],
        capture_output=True,
        text=True,
        cwd=_ROOT,
        timeout=600,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def cross_validate(c_values: Iterable[float] = (0.3, 1.0, 3.0, 10.0, 30.0), folds: int = 5) -> dict:
    """Threat and anger F1 per regularisation, 5-fold on the train split: the held-out split is
    not read."""
    from core.quality.features import FeatureMaker
    from core.quality.train import train

    rows = load(split="train")
    maker = FeatureMaker()
    out = {}
    for c in c_values:
        got: list[TextAnalysis] = [None] * len(rows)  # type: ignore[list-item]
        for k in range(folds):
            fit = [r for i, r in enumerate(rows) if i % folds != k]
            analyser = OfflineAnalyser(train(fit, maker, c=c))
            for i, r in enumerate(rows):
                if i % folds == k:
                    got[i] = analyser.analyse(r.text)
        s = score(rows, got)
        out[c] = {
            "threat_f1": s["threats"]["all kinds"]["f1"],
            "threat_recall": s["threats"]["all kinds"]["recall"],
            "anger_f1": s["anger"]["f1"],
            "trigger_macro_f1": s["trigger"]["macro"]["f1"],
            "category_macro_f1": s["category"]["macro"]["f1"],
        }
    return out


def checks(q: dict, c: dict | None) -> list[tuple[str, float, str, bool]]:
    t = q["threats"]["all kinds"]
    rows = [
        (
            "threat recall (all kinds)",
            t["recall"],
            f">= {TARGETS['threat_recall']}",
            t["recall"] >= TARGETS["threat_recall"],
        ),
        (
            "threat precision (all kinds)",
            t["precision"],
            f">= {TARGETS['threat_precision']}",
            t["precision"] >= TARGETS["threat_precision"],
        ),
        (
            "anger F1",
            q["anger"]["f1"],
            f">= {TARGETS['anger_f1']}",
            q["anger"]["f1"] >= TARGETS["anger_f1"],
        ),
    ]
    if c:
        rows += [
            (
                "ms per text p50 (one core)",
                c["ms_per_text_p50"],
                f"<= {TARGETS['ms_per_text_p50']}",
                c["ms_per_text_p50"] <= TARGETS["ms_per_text_p50"],
            ),
            (
                "ms per text p99 (one core)",
                c["ms_per_text_p99"],
                f"<= {TARGETS['ms_per_text_p50']}",
                c["ms_per_text_p99"] <= TARGETS["ms_per_text_p50"],
            ),
            (
                "RSS added to a worker, MiB",
                c["rss_added_mib"],
                f"<= {TARGETS['rss_added_mib']}",
                c["rss_added_mib"] <= TARGETS["rss_added_mib"],
            ),
        ]
    return rows


def render(q: dict, c: dict | None) -> str:
    lines = [f"Held-out split: {q['texts']} texts (the models were trained on the train split)", ""]

    def table(title: str, rows: dict) -> None:
        lines.append(f"{title:<28} precision  recall     F1  support")
        for label, m in rows.items():
            if "f1" in m and "support" in m:
                lines.append(
                    f"  {label:<26} {m['precision']:9.2f} {m['recall']:7.2f} {m['f1']:6.2f}"
                    f" {m['support']:8d}"
                )
            elif "f1" in m:
                lines.append(
                    f"  {label:<26} {m['precision']:9.2f} {m['recall']:7.2f} {m['f1']:6.2f}"
                )
            elif "accuracy" in m:
                lines.append(f"  {label:<26} {m['accuracy']:9.2f} (accuracy)")
        lines.append("")

    table("anger", {"angry": q["anger"]})
    table("threats", q["threats"])
    table("sentiment (VADER, untrained)", q["sentiment"])
    table("trigger", q["trigger"])
    table("category", q["category"])
    lines.append(
        f"language accuracy {q['language']['accuracy']:.2f}; misread: {q['language']['misread']}"
    )
    lines.append("")
    if q["threat_misses"]:
        lines.append("threat errors on the held-out split:")
        lines += [
            f"  {m['id']}: labelled {m['labelled']}, found {m['found']}: {m['text']}"
            for m in q["threat_misses"]
        ]
        lines.append("")
    if c:
        lines.append(
            f"time per text on one core: p50 {c['ms_per_text_p50']:.2f} ms, "
            f"p99 {c['ms_per_text_p99']:.2f} ms ({c['timed']} analyses); a 20 KB text: "
            f"{c['ms_20kb_text_p50']:.2f} ms (its first 4,000 characters read)"
        )
        lines.append(
            f"resident memory added to a worker by the analyser: {c['rss_added_mib']:.1f} MiB"
        )
        lines.append("")
    lines.append("targets:")
    for name, value, target, ok in checks(q, c):
        lines.append(f"  {name:<32} {value:8.2f}  {target:<8} {'pass' if ok else 'FAIL'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m core.quality.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--no-cost", action="store_true", help="skip the time and memory probe")
    p.add_argument("--cv", action="store_true", help="cross-validation on the train split")
    p.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    # log lines to stderr, so that stdout holds the figures alone (--json, the probe's answer)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    if args.probe:
        _probe()
        return
    if args.cv:
        print(json.dumps(cross_validate(), indent=2))
        return
    q = quality()
    c = None if args.no_cost else cost()
    if args.json:
        print(json.dumps({"quality": q, "cost": c}, indent=2))
    else:
        print(render(q, c))


if __name__ == "__main__":
    main()
