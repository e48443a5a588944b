"""The operators' levers on a case's workflow (/escalations/{id}/operator/...): router.py
(thin), service.py (the Temporal server calls and their record on the timeline), schemas.py."""
