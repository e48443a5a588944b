"""The cases domain, /escalations: router.py (thin; opening, reading, listing and every action
on a case), service.py (what the router, the console's case pages and the other domains ask of a
case), schemas.py (the action bodies, the list)."""
