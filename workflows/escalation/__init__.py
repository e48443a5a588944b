"""The escalation process as one Temporal workflow; `workflow.py` is the table of contents."""

from workflows.escalation.workflow import EscalationWorkflow

__all__ = ["EscalationWorkflow"]
