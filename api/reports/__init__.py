"""The reports domain: router.py (thin), service.py (what the router and the console's charts
call), schemas.py, rebuild.py (filling the report store from Temporal, a command)."""
