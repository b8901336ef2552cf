"""The REST API's interactive docs at ``/api/docs/``: Swagger UI, its assets served by jobgate itself.

The page and everything it loads (script, stylesheet, icon) come from this server, under ``/api/docs/assets/``, so
the docs work on a network without internet access. The assets are the Swagger UI build shipped by the
``fastapi-offline`` package (MIT; Swagger UI itself is Apache-2.0). Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/api/docs/"
ASSETS_PATH = "/api/docs/assets"
_ASSETS = Path(str(files("fastapi_offline") / "static"))


def install_docs(app: FastAPI) -> None:
    """Serve the Swagger UI page at ``/api/docs/`` (and without the slash) and its assets beneath it.

    Args:
        app: the FastAPI app, whose OpenAPI document (``app.openapi_url``) the page shows.
    """
    app.mount(ASSETS_PATH, StaticFiles(directory=_ASSETS), name="api-docs-assets")

    def docs_page(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path") or "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} REST API",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            # Swagger UI would otherwise send the document to an outside validator and show its badge.
            swagger_ui_parameters={"validatorUrl": None},
        )

    for path in (DOCS_PATH, DOCS_PATH.rstrip("/")):
        app.add_api_route(path, docs_page, methods=["GET"], include_in_schema=False, response_class=HTMLResponse)
