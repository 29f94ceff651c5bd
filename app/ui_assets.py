"""The assets of the browser pages (the OpenAPI UI, GraphiQL), installed by `npm ci` from the packages that
package.json pins, so that the pages load nothing from another host. When they are missing, the pages say how
to install them instead of staying blank; the server starts either way."""

from __future__ import annotations

import html
from collections.abc import Iterable
from pathlib import Path


def missing(node_modules: Path, files: Iterable[str]) -> list[str]:
    """The `files` (paths under node_modules) that are not there."""
    return [file for file in files if not (node_modules / file).is_file()]


def install_page(title: str, missing: list[str], meanwhile: str) -> str:
    """A page that needs no script or style, telling how to install the `missing` files; `meanwhile` says
    what works without them."""
    files = "".join(f"<li><code>node_modules/{html.escape(file)}</code></li>" for file in missing)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}: assets not installed</title></head><body>"
        f"<h1>{title} cannot be shown: its assets are not installed</h1>"
        "<p>This server serves the page's scripts and styles from the npm packages pinned in the project's "
        f"<code>package.json</code>. These files are missing:</p><ul>{files}</ul>"
        "<p>Install them in the project's directory with <code>npm ci</code> (<code>make install</code> "
        "runs it), or point <code>TMF629_UI_ASSETS_DIR</code> at a <code>node_modules</code> directory "
        "that holds them, then reload this page.</p>"
        f"<p>{html.escape(meanwhile)}</p>"
        "</body></html>"
    )
