"""GET /openapi.json (built once at start-up) and GET /docs: Swagger UI from the packaged
swagger-ui-bundle assets, so the page works offline and needs no CDN."""

from pathlib import Path

import swagger_ui_bundle
from aiohttp import web

from kv_api.presentation.routes.contract import JSON, Operation, operation

TAG = "docs"
ASSETS_DIR = Path(swagger_ui_bundle.swagger_ui_path)
ASSET_FILES = frozenset(
    {"swagger-ui.css", "index.css", "swagger-ui-bundle.js", "favicon-32x32.png"}
)

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


def _undocumented(method: str, path: str, operation_id: str) -> Operation:
    return Operation(method, path, operation_id, "", TAG, "", public=True, documented=False)


class DocsEndpoints:
    def __init__(self, document: bytes) -> None:
        self._document = document

    @operation(
        Operation(
            "get",
            "/openapi.json",
            "openapi",
            "This OpenAPI document",
            TAG,
            "OpenAPI 3",
            content=(JSON, {"type": "object"}),
            public=True,
        )
    )
    async def openapi(self, request: web.Request) -> web.Response:
        return web.Response(body=self._document, content_type=JSON)

    @operation(
        Operation(
            "get",
            "/docs",
            "swaggerUi",
            "Swagger UI for this document",
            TAG,
            "an HTML page",
            content=("text/html", {"type": "string"}),
            public=True,
        )
    )
    async def swagger_ui(self, request: web.Request) -> web.Response:
        return web.Response(body=_PAGE, content_type="text/html", charset="utf-8")

    @operation(_undocumented("get", "/docs/swagger-initializer.js", "swaggerInitializer"))
    async def initializer(self, request: web.Request) -> web.Response:
        return web.Response(body=_INITIALIZER, content_type="text/javascript", charset="utf-8")

    @operation(_undocumented("get", "/docs/{asset}", "swaggerAsset"))
    async def asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["asset"]
        if name not in ASSET_FILES:
            raise web.HTTPNotFound()
        return web.FileResponse(ASSETS_DIR / name)
