"""The policy simulator's speed: N recorded cases (default 10,000) over a period, replayed under
the demo policy and under a draft, side by side, from a SQLite report store.

    .venv/bin/python -m bench.policy_sim [--cases 10000] [--days 70]

The recorded cases are generated (a seeded mix of severities, teams, waits on the customer,
proposals and sign-offs, resolutions on time and late) and written to a fresh store in a
temporary directory; only the simulation is timed. Prints simulated days per wall-clock minute.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.policy import read_policy
from core.policy_sim.load import side_by_side
from core.report_store import ReportStore, week_of
from core.report_store.schema import cases, events
from core.settings import CONFIG_DIR

KINDS = [("billing", "customer_request", "billing-specialists"),
         ("outage", "technical_fault", "technical-specialists"),
         ("billing", "legal_threat", "billing-specialists"),
         ("device", "repeat_contact", "technical-specialists"),
         ("general", "out_of_scope", "technical-specialists")]  # fmt: skip


def generate(store: ReportStore, n: int, start: datetime, days: int, seed: int = 25) -> None:
    rnd = random.Random(seed)
    case_rows, event_rows = [], []
    for i in range(n):
        opened = start + timedelta(seconds=rnd.uniform(0, days * 86400))
        category, trigger, team = rnd.choice(KINDS)
        amount = rnd.choice([30.0, 120.0, 300.0, 600.0, 1500.0])
        eid = f"E-SIM{i:07d}"
        t = opened
        evs = [(t, "opened", "system", "Charged twice"), (t, "triaged", "system", "")]
        tier1 = amount <= 50 and trigger != "legal_threat"
        resolved_at = None
        if tier1:
            evs.append((t, "tier1_granted", "system", "within the catalogue"))
            evs.append(
                (t, "resolved", "agent", f"at tier1: Granted refund {amount:g} GBP at tier 1")
            )
            resolved_at, tier = t, "tier1"
        else:
            evs.append((t, "tier1_declined", "system", "above the limit"))
            t += timedelta(minutes=rnd.uniform(1, 30))
            evs.append((t, "consult_answered", "helpline", "needs a specialist"))
            evs.append((t, "transferred", "system", f"to Sam ({team}). Handover: x; details: -; "
                        f"requested refund {amount:g} GBP; help line: y"))  # fmt: skip
            t += timedelta(minutes=rnd.uniform(2, 28))
            evs.append((t, "acknowledged", "specialist", ""))
            if rnd.random() < 0.3:
                t += timedelta(hours=rnd.uniform(0.5, 6))
                evs.append((t, "info_requested", "specialist", "Which card?"))
                t += timedelta(hours=rnd.uniform(1, 48))
                evs.append((t, "customer_contact", "system", "The Visa"))
            t += timedelta(hours=rnd.expovariate(1 / 12))
            evs.append((t, "proposal_made", "specialist", f"refund {amount:g} GBP"))
            if amount > 250 or trigger == "legal_threat":
                t += timedelta(hours=rnd.uniform(0.2, 8))
                evs.append((t, "approval_granted", "manager", f"refund {amount:g} GBP. ok"))
                evs.append(
                    (t, "resolved", "manager", f"at executive: Approved refund {amount:g} GBP")
                )
                tier = "executive"
            else:
                evs.append(
                    (t, "resolved", "specialist", f"at specialist: Granted refund {amount:g} GBP")
                )
                tier = "specialist"
            resolved_at = t
        case_rows.append({
            "escalation_id": eid, "as_of": resolved_at, "events_seen": len(evs),
            "opened_at": opened, "opened_day": opened.date().isoformat(),
            "opened_week": week_of(opened), "opened_by_id": "p-system", "opened_by_name": "CRM",
            "channel": "phone", "category": category, "trigger": trigger,
            "customer_tier": rnd.choice(["standard", "standard", "gold", "vip"]),
            "severity": None, "avoidable": None, "stage": "resolved",
            "team": None if tier1 else team, "assignee": None, "resolved_tier": tier,
            "resolved_at": resolved_at, "requested_amount": amount, "granted_amount": amount,
            "currency": "GBP", "reopen_count": 0, "fr_breached": False, "res_breached": False,
        })  # fmt: skip
        event_rows += [
            {"escalation_id": eid, "seq": k, "at": at, "actor": "x", "role": role,
             "action": action, "stage": "-", "detail": detail}
            for k, (at, action, role, detail) in enumerate(evs)
        ]  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(cases.insert(), case_rows)
        conn.execute(events.insert(), event_rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=70, help="the recorded period (10 weeks)")
    args = ap.parse_args()
    start = datetime(2026, 9, 7, tzinfo=UTC)  # a Monday
    live = read_policy(CONFIG_DIR / "policy.toml", today=start.date())

    def longer(p) -> None:
        p.version = "draft-bench"
        p.tier1_limit = 150  # the frontline may grant refunds up to 150
        for entry in p.tier1_catalogue:
            entry.max_amount = 150
        for t in p.sla:
            t.resolution_h *= 1.25

    draft = read_policy(CONFIG_DIR / "policy.toml", today=start.date())
    longer(draft)
    with tempfile.TemporaryDirectory() as tmp:
        store = ReportStore(f"sqlite:///{Path(tmp) / 'reports.sqlite'}")
        generate(store, args.cases, start, args.days)
        until = start + timedelta(days=args.days)
        began = time.perf_counter()
        result = side_by_side(store, live, draft, start, until, horizon=until + timedelta(days=30))
        took = time.perf_counter() - began
        store.close()
    print(f"{args.cases} recorded cases over {args.days} days, two policies: {took:.1f} s")
    print(f"simulated days per wall-clock minute: {args.days / (took / 60):.0f}")
    print(f"cases per second (both policies): {args.cases / took:.0f}")
    for side in ("live", "draft"):
        r = result[side]
        print(f"  {side}: breaches {r['breaches']}, resolved at {r['resolved_at']}, "
              f"sign-offs {r['signoffs']}, goodwill {r['goodwill_granted']}, "
              f"unknowable {r['unknowable']}")  # fmt: skip


if __name__ == "__main__":
    main()
