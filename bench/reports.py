"""How fast the reports answer over a full report store: fills a store with `--cases` closed
cases (synthetic facts, written through `ReportStore.write`, the worker's own path), then runs
every report `--repeat` times over all of it and over one quarter of one team, and prints p50 and
p95 per report.

    .venv/bin/python -m bench.reports                          # 100,000 cases, SQLite
    .venv/bin/python -m bench.reports --cases 2000 --repeat 3  # smoke
    .venv/bin/python -m bench.reports --url postgresql://...   # another database (emptied first)

The SQLite file is `bench/out/reports-<cases>.sqlite`, kept for the next run (filled once).
Results: one JSON line on stdout and `bench/out/reports.json`.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.report_store import ReportStore
from core.report_store import queries as q
from workflows.messages import CaseFacts, CaseSnapshot, ClockFact, FactEvent, StageVisit

OUT = Path(__file__).resolve().parent / "out"
TRIGGERS = (
    "customer_request",
    "policy_exception",
    "out_of_scope",
    "repeat_contact",
    "legal_threat",
    "social_media_threat",
    "technical_fault",
)
TEAMS = ("billing", "technical", "retention", "legal", "complaints")
TIERS = ("tier1", "helpline", "specialist", "executive")
START = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday; one year of cases from here


def synthetic(i: int, rng: random.Random) -> CaseFacts:
    opened = START + timedelta(seconds=rng.randrange(365 * 86400))
    tier = rng.choices(TIERS, weights=(30, 35, 25, 10))[0]
    path = {
        "tier1": ["resolved", "follow_up", "closed"],
        "helpline": ["helpline_consult", "resolved", "follow_up", "closed"],
        "specialist": ["helpline_consult", "specialist", "resolved", "follow_up", "closed"],
        "executive": [
            "helpline_consult",
            "specialist",
            "executive_signoff",
            "resolved",
            "follow_up",
            "closed",
        ],
    }[tier]
    t, visits = opened, []
    for k, stage in enumerate(path):
        left = None if k == len(path) - 1 else t + timedelta(seconds=rng.randrange(60, 86400))
        visits.append(StageVisit(stage=stage, entered_at=t, left_at=left))
        t = left or t
    actions = ["opened", "triaged", "tier1_declined" if tier != "tier1" else "tier1_granted"]
    roles = ["agent", "system", "system"]
    if tier == "executive":
        actions += ["proposal_made", rng.choice(("approval_granted", "approval_rejected"))]
        roles += ["specialist", rng.choice(("supervisor", "manager", "executive"))]
    actions += ["resolved", "check_in", "closed"]
    roles += ["specialist", "system", "system"]
    fr_breached, res_breached = rng.random() < 0.1, rng.random() < 0.15
    requested = float(rng.randrange(10, 2000))
    return CaseFacts(
        case=CaseSnapshot(
            escalation_id=f"B-{i:08d}",
            as_of=t,
            events_seen=len(actions),
            opened_at=opened,
            opened_by_id=f"agent-{rng.randrange(200)}",
            opened_by_name=f"Agent {rng.randrange(200)}",
            channel=rng.choice(("email", "sms", "phone", "chat", "social")),
            category="billing",
            trigger=rng.choice(TRIGGERS),
            customer_tier=rng.choice(("standard", "gold", "vip")),
            severity=rng.choice(("P1", "P2", "P3", "P4")),
            avoidable=rng.random() < 0.6,
            stage="closed",
            team=rng.choice(TEAMS),
            assignee=f"spec-{rng.randrange(40)}",
            resolved_tier=tier,
            resolved_at=t,
            requested_amount=requested,
            granted_amount=requested * rng.choice((0.5, 1.0)) if tier != "helpline" else None,
            currency="GBP",
            clocks=[
                ClockFact(
                    name="first_response",
                    due_at=opened + timedelta(hours=4),
                    met_at=None if fr_breached else opened + timedelta(hours=1),
                    breached=fr_breached,
                ),
                ClockFact(
                    name="resolution",
                    due_at=opened + timedelta(hours=48),
                    met_at=None if res_breached else t,
                    breached=res_breached,
                ),
            ],
            root_cause=rng.choice(("billing bug", "unclear policy", "courier", "training", None)),
            feedback_score=rng.choice((1, 2, 3, 4, 5, None, None)),
        ),
        events=[
            FactEvent(seq=k, at=opened, actor="x", role=r, action=a, stage="x")
            for k, (a, r) in enumerate(zip(actions, roles, strict=True))
        ],
        stages=visits,
    )


def fill(store: ReportStore, n: int, batch: int = 500) -> float:
    rng = random.Random(24)
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        store.write([synthetic(i, rng) for i in range(start, min(n, start + batch))])
    return time.perf_counter() - t0


def measure(store: ReportStore, repeat: int) -> dict[str, dict[str, float]]:
    scopes = {
        "all": q.Filters(),
        "quarter+team": q.Filters(
            since=START + timedelta(days=91), until=START + timedelta(days=182), team="billing"
        ),
    }
    out: dict[str, dict[str, float]] = {}
    for name, report in [*q.REPORTS.items(), ("summary", q.summary)]:
        for scope, f in scopes.items():
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                report(store, f)
                times.append(time.perf_counter() - t0)
            times.sort()
            p95 = times[min(len(times) - 1, max(0, -(-95 * len(times) // 100) - 1))]
            out[f"{name} ({scope})"] = {
                "p50_ms": round(statistics.median(times) * 1000, 1),
                "p95_ms": round(p95 * 1000, 1),
            }
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cases", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--url", help="a database URL (default: a SQLite file under bench/out)")
    args = p.parse_args()
    OUT.mkdir(exist_ok=True)
    url = args.url or f"sqlite:///{OUT / f'reports-{args.cases}.sqlite'}"
    store = ReportStore(url)
    filled_s = None
    if store.count_cases() != args.cases:
        from core.report_store.schema import metadata

        with store.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
        filled_s = round(fill(store, args.cases), 1)
    if store.engine.dialect.name == "sqlite":
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    result = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": store.engine.dialect.name,
        "cases": store.count_cases(),
        "fill_s": filled_s,
        "repeat": args.repeat,
        "reports": measure(store, args.repeat),
    }
    store.close()
    line = json.dumps(result)
    (OUT / "reports.json").write_text(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
