"""Resource routers of the API (escalations, reports, policy)."""

from fastapi import FastAPI


def include_routers(app: FastAPI) -> None:
    return None
