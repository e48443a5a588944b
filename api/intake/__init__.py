"""Opening an escalation: one service behind `POST /escalations` and the console's intake form."""
