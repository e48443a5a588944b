"""The escalation process (deterministic code only): `workflows.escalation.EscalationWorkflow`."""
