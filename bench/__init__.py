"""Benchmark of the escalation service on the embedded stack, beside a raw-Temporal baseline.

Run ``python -m bench --help``; see bench/README.md.
"""
