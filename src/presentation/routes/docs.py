"""GET /openapi.json (built once at start-up) and GET /docs: Swagger UI from the packaged
swagger-ui-bundle assets, so the page works offline and needs no CDN."""

from pathlib import Path

import orjson
import swagger_ui_bundle
from aiohttp import web

from kv_api.presentation.openapi import DocumentedLimits, build_openapi

OPENAPI_DOCUMENT = web.AppKey("openapi_document", bytes)
ASSETS_DIR = Path(swagger_ui_bundle.swagger_ui_path)
ASSET_FILES = ("swagger-ui.css", "index.css", "swagger-ui-bundle.js", "favicon-32x32.png")
INITIALIZER = "/docs/swagger-initializer.js"
ASSET_PATHS = (*(f"/docs/{name}" for name in ASSET_FILES), INITIALIZER)

_PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>KV API - Swagger UI</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="stylesheet" href="/docs/index.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
  <script src="/docs/swagger-initializer.js" charset="UTF-8"></script>
</body>
</html>
"""

# validatorUrl null: no call to the public validator, the page stays offline.
_INITIALIZER = b"""window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
"""


async def openapi_json(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI_DOCUMENT], content_type="application/json")


async def swagger_ui(request: web.Request) -> web.Response:
    return web.Response(body=_PAGE, content_type="text/html", charset="utf-8")


async def initializer(request: web.Request) -> web.Response:
    return web.Response(body=_INITIALIZER, content_type="text/javascript", charset="utf-8")


def _asset(path: Path) -> web.RouteDef:
    async def serve(request: web.Request) -> web.FileResponse:
        return web.FileResponse(path)

    return web.get(f"/docs/{path.name}", serve)


def setup_docs(app: web.Application, settings: DocumentedLimits) -> None:
    app[OPENAPI_DOCUMENT] = orjson.dumps(build_openapi(settings))
    app.add_routes(
        [
            web.get("/openapi.json", openapi_json),
            web.get("/docs", swagger_ui),
            web.get(INITIALIZER, initializer),
            *(_asset(ASSETS_DIR / name) for name in ASSET_FILES),
        ]
    )
