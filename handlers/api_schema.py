"""The REST API's OpenAPI document (``/api/schema/``): the error answers and request bodies of the routes, which
read their bodies themselves (after authentication), so FastAPI cannot describe them. Must not import sqlalchemy or
storage.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from handlers.api_models import ErrorOut, FieldErrorsOut, RunRequestIn

__all__ = ["document_bodies", "error_responses", "request_body"]


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of a route, by status code."""
    described: dict[int, tuple[type[BaseModel], str]] = {
        400: (FieldErrorsOut, "Invalid input: per-field lists, or `detail`."),
        403: (ErrorOut, "Not authenticated, or not permitted."),
        404: (ErrorOut, "Unknown, or not visible to the caller."),
        405: (ErrorOut, "The job cannot run at this time."),
        409: (ErrorOut, "Already decided, or no longer pending."),
        413: (ErrorOut, "Request body too large."),
        429: (ErrorOut, "Too many of your requests wait for approval (`Retry-After` says when to ask again)."),
    }
    return {code: {"model": described[code][0], "description": described[code][1]} for code in codes}


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """The documented request body of a route (JSON; the run routes also take a multipart form)."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    content: dict[str, Any] = {"application/json": {"schema": ref}}
    if model is RunRequestIn:  # Nautobot's form variant, for jobs with files
        content["multipart/form-data"] = {"schema": {
            "type": "object", "additionalProperties": True,
            "description": "A field per variable (a file part for a FileVar), and _commit, _schedule_name, "
                           "_schedule_interval, _schedule_start_time, _schedule_crontab, _schedule_time_zone.",
        }}
    return {"requestBody": {"required": False, "content": content}}


def document_bodies(app: FastAPI, models: tuple[type[BaseModel], ...], *, prefix: str) -> None:
    """Add the request-body models to ``/api/schema/`` and drop FastAPI's 422 (the API answers 400 instead).

    The routes read their bodies themselves, after authentication, so FastAPI does not know the models.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            body = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, definition in body.pop("$defs", {}).items():
                components.setdefault(name, definition)
            components[model.__name__] = body
        for path, operations in schema.get("paths", {}).items():
            if path.startswith(prefix + "/"):
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
