"""GET /console: the web console, a page of a few files shipped in this package (no CDN, no
build step, nothing fetched at run time) that calls this API from the browser like any other
client. Only the files named here are served."""

from pathlib import Path

from aiohttp import web

from kv_api.presentation.routes.contract import Operation, operation

TAG = "console"
FILES = Path(__file__).with_name("files")
PAGE = "index.html"
# the files under /console/, with their media types (nosniff: the browser trusts these)
ASSETS = {
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


def _undocumented(method: str, path: str, operation_id: str) -> Operation:
    return Operation(method, path, operation_id, "", TAG, "", public=True, documented=False)


class ConsoleEndpoints:
    def __init__(self, files: Path = FILES) -> None:
        missing = [name for name in (PAGE, *ASSETS) if not (files / name).is_file()]
        if missing:  # a broken install shows at start, not as a blank page
            raise FileNotFoundError(f"the console's files are missing from {files}: {missing}")
        self._files = files

    @operation(_undocumented("get", "/console", "console"))
    async def page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(
            self._files / PAGE, headers={"Content-Type": "text/html; charset=utf-8"}
        )

    @operation(_undocumented("get", "/console/{asset}", "consoleAsset"))
    async def asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["asset"]
        media_type = ASSETS.get(name)
        if media_type is None:
            raise web.HTTPNotFound()
        return web.FileResponse(self._files / name, headers={"Content-Type": media_type})
