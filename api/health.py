"""Liveness, readiness and Prometheus metrics (no token needed)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import TemporalClient
from api.errors import error_response

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: Temporal is reachable",
    responses={503: {"description": "Temporal unreachable", "model": None}},
)
async def readyz(client: TemporalClient) -> JSONResponse:
    try:
        await asyncio.wait_for(client.service_client.check_health(), timeout=3)
    except Exception as e:  # noqa: BLE001 - any failure means not ready
        return error_response(503, "unavailable", f"Temporal is not reachable: {type(e).__name__}")
    return JSONResponse({"status": "ready", "namespace": client.namespace})


@router.get("/metrics", summary="Prometheus metrics of the API process")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
