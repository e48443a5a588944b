"""Resource routers of the API (escalations and their actions, reports, policy, codec), and the
finishing touches of the OpenAPI document (/docs is the manual)."""

from fastapi import FastAPI

from api import (
    actions,
    codec,
    escalations,
    feedback,
    follow_through,
    operator,
    policy,
    policy_rollout,
    policy_versions,
    report_data,
    reports,
)
from api.customer import router as customer
from api.openapi_docs import finish_openapi


def include_routers(app: FastAPI) -> None:
    app.include_router(escalations.router)
    app.include_router(actions.router)
    app.include_router(follow_through.router)
    app.include_router(operator.router)
    app.include_router(reports.router)
    app.include_router(report_data.router)
    app.include_router(policy.router)
    app.include_router(policy_versions.router)
    app.include_router(policy_rollout.router)
    app.include_router(codec.router)
    app.include_router(feedback.router)
    app.include_router(customer.router)

    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = finish_openapi(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
