"""The policy domain: the policy in force and its versions' change process (router.py, thin;
service.py, what the router and the console call; schemas.py; gateway.py, its Temporal calls)."""
