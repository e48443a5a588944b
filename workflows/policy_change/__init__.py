"""A policy change as a workflow (issue 25): a stored draft goes to review, the approvers the
live policy names decide, and an approved change goes live at the time the proposer chose."""
