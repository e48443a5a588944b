"""The policy simulator (issue 25): replay recorded cases under a draft and under the live policy,
as a deterministic discrete-event simulation that reuses the workflow's pure rules
(docs/decisions/0051-policy-simulator.md). `engine` is pure; `load` reads the report store."""
