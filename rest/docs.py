"""The OpenAPI UI (Swagger UI) at `{DOCS_PATH}/swagger`, with its scripts and styles served by this server.

They come from the npm package swagger-ui-dist that package.json pins and `npm ci` installs, never from a CDN:
most operator networks have no internet access, and a page whose script is on a CDN stays blank there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.response import File
from litestar.router import Router

from app import ui_assets
from app.urls import API_PATH

DOCS_PATH = f"{API_PATH}/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
# What the page loads: the name in its URL -> the file under node_modules.
ASSETS = {
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js": "swagger-ui-dist/swagger-ui-standalone-preset.js",
    "favicon.png": "swagger-ui-dist/favicon-32x32.png",
}
MEANWHILE = f"The OpenAPI document itself is served meanwhile at {DOCS_PATH}/openapi.json."
# The files are those of a pinned version; an hour of caching spares a reload 1.5 MB.
CACHE_CONTROL = "public, max-age=3600"


class SwaggerUI(SwaggerRenderPlugin):
    """Swagger UI over assets in `node_modules`; a page saying how to install them while they are missing
    (the server starts either way)."""

    def __init__(self, node_modules: Path) -> None:
        super().__init__(
            js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            css_url=f"{ASSETS_PATH}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
            favicon=f'<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon.png">',
        )
        self.node_modules = node_modules

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        missing = ui_assets.missing(self.node_modules, ASSETS.values())
        if missing:
            return ui_assets.install_page("The OpenAPI UI", missing, MEANWHILE).encode()
        return super().render(request, openapi_schema)

    def receive_router(self, router: Router) -> None:
        """The OpenAPI router (at DOCS_PATH) also serves the assets, under `/assets`."""
        super().receive_router(router)
        node_modules = self.node_modules

        @get("/assets/{name:str}", sync_to_thread=False, include_in_schema=False)
        def swagger_asset(name: str) -> File:
            if name not in ASSETS or not (node_modules / ASSETS[name]).is_file():
                raise NotFoundException(f"No OpenAPI UI asset {name!r}")
            path = node_modules / ASSETS[name]
            return File(
                path,
                filename=name,
                content_disposition_type="inline",
                headers={"Cache-Control": CACHE_CONTROL},
            )

        router.register(swagger_asset)
