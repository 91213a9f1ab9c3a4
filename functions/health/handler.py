"""Health check and the OpenAPI document (public routes)."""

from typing import Any

from chirp import api_models as api
from chirp.http import RestApp
from chirp.openapi import openapi_document

app = RestApp("health")


@app.operation("health")
def health() -> api.Health:
    return {"status": "ok"}


@app.operation("openapi")
def openapi() -> dict[str, Any]:
    return openapi_document()


app.bind()
handler = app.handler
