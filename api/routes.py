"""The API's routers, one per resource, each from its domain's folder (cases, operator, reports,
policy, feedback, customer; the codec), and the finishing touches of the OpenAPI document (/docs
is the manual)."""

from fastapi import FastAPI

from api import codec
from api.cases import router as cases
from api.customer import router as customer
from api.feedback import router as feedback
from api.openapi_docs import finish_openapi
from api.operator import router as operator
from api.policy import router as policy
from api.reports import router as reports


def include_routers(app: FastAPI) -> None:
    app.include_router(cases.router)
    app.include_router(operator.router)
    app.include_router(reports.router)
    app.include_router(policy.router)
    app.include_router(codec.router)
    app.include_router(feedback.router)
    app.include_router(customer.router)

    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = finish_openapi(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
