"""Interactive API docs (Swagger UI) at /api/docs, served entirely by the service.

FastAPI's own docs page loads Swagger UI from a CDN and starts it with an inline script; both
break here: deployments may have no way out, and the Content-Security-Policy allows scripts from
'self' only. So the assets come from the `swagger-ui-py` package (Swagger UI 5, which reads the
OpenAPI 3.1 schema FastAPI writes), a fixed list of them is served from its folder, and the page
is started by a small script of our own.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import orjson
from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

from app.core.errors import NotFound

DOCS_PATH = "/api/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
# Only what the page uses; the package also ships an editor and source maps, not served.
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


def assets_dir() -> Path:
    """The package's static folder, found without importing it (its __init__ pulls in
    handlers for a dozen web frameworks)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def page_html() -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>peerchat API</title>
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="{DOCS_PATH}/init.js"></script>
</body>
</html>
"""


def init_js(openapi_url: str) -> str:
    # validatorUrl null: the default sends the schema to an outside validator for a badge.
    return f"""window.ui = SwaggerUIBundle({{
  url: {orjson.dumps(openapi_url).decode()},
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
}});
"""


def install(app: FastAPI, *, openapi_url: str) -> None:
    folder = assets_dir()
    missing = [name for name in ASSETS if not (folder / name).is_file()]
    if missing:
        raise RuntimeError(f"Swagger UI assets missing from {folder}: {', '.join(missing)}")
    page, script = page_html(), init_js(openapi_url)

    async def docs_page() -> HTMLResponse:
        return HTMLResponse(page, headers={"cache-control": "no-cache"})

    async def docs_init() -> Response:
        return Response(
            script,
            media_type="text/javascript; charset=utf-8",
            headers={"cache-control": "no-cache"},
        )

    async def docs_asset(name: str) -> FileResponse:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise NotFound("no such file")
        return FileResponse(folder / name, media_type=media_type)

    for path, endpoint in (
        (DOCS_PATH, docs_page),
        (f"{DOCS_PATH}/init.js", docs_init),
        (f"{ASSETS_PATH}/{{name}}", docs_asset),
    ):
        app.add_api_route(path, endpoint, methods=["GET", "HEAD"], include_in_schema=False)
