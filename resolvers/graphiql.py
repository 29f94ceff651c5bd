"""GraphiQL at `/graphql` (resolvers.endpoint), its scripts and styles served here under `/graphql/assets`.

They come from the npm packages that package.json pins and `npm ci` installs (graphiql, its explorer plugin,
react, react-dom), never from a CDN: most operator networks have no internet access, and a page whose script
is on a CDN stays blank there. GraphiQL 4 is the last major version that ships a browser bundle (UMD) usable
without a build step; that bundle carries graphql and the graphql-ws client, so the page runs queries and
mutations over HTTP and subscriptions over graphql-transport-ws on the same `/graphql` path.
"""

from __future__ import annotations

import json
from pathlib import Path

from litestar import get
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.response import File

from app import ui_assets
from app.settings import Settings

ASSETS_PATH = "/graphql/assets"
# What the page loads: the name in its URL -> the file under node_modules.
ASSETS = {
    "react.js": "react/umd/react.production.min.js",
    "react-dom.js": "react-dom/umd/react-dom.production.min.js",
    "graphiql.js": "graphiql/graphiql.min.js",
    "graphiql.css": "graphiql/graphiql.min.css",
    "plugin-explorer.js": "@graphiql/plugin-explorer/dist/index.umd.js",
    "plugin-explorer.css": "@graphiql/plugin-explorer/dist/style.css",
}
MEANWHILE = "The GraphQL API itself answers meanwhile: POST queries to /graphql, or open its websocket."
# The files are those of pinned versions; an hour of caching spares a reload 3 MB.
CACHE_CONTROL = "public, max-age=3600"

DEFAULT_QUERY = """# The TMF629 Customer Management API.
# Run: Ctrl-Enter or the play button. Complete: Ctrl-Space.
# Schema: the book icon on the left.

{
  customers(first: 5) {
    totalCount
    nodes { id name status }
  }
}
"""

# Adapted from Strawberry's GraphiQL page (MIT), with the assets served here instead of by a public CDN.
PAGE = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>GraphiQL - TMF629 Customer Management</title>
    <link rel="icon" href="data:,">
    <style>
      body { height: 100%; margin: 0; width: 100%; overflow: hidden; }
      #graphiql { height: 100vh; display: flex; }
    </style>
    <link rel="stylesheet" href="@ASSETS@/graphiql.css">
    <link rel="stylesheet" href="@ASSETS@/plugin-explorer.css">
    <script src="@ASSETS@/react.js"></script>
    <script src="@ASSETS@/react-dom.js"></script>
    <script src="@ASSETS@/graphiql.js"></script>
    <script src="@ASSETS@/plugin-explorer.js"></script>
  </head>
  <body>
    <div id="graphiql">Loading...</div>
    <script>
      const DEFAULT_QUERY = @DEFAULT_QUERY@;

      // The query and variables are kept in the URL (?q=...&variables=...) so that a link shares them.
      const parameters = {};
      for (const [key, value] of new URLSearchParams(window.location.search)) {
        parameters[key] = value;
      }
      function updateURL(data) {
        Object.assign(parameters, data);
        const search = new URLSearchParams();
        for (const [key, value] of Object.entries(parameters)) {
          if (value) search.set(key, value);
        }
        history.replaceState(null, "", "?" + search.toString());
      }

      const url = window.location.href.split(/[?#]/)[0];
      const subscriptionUrl = url.replace(/^http/, "ws");
      const fetcher = GraphiQL.createFetcher({ url, subscriptionUrl });
      const explorer = GraphiQLPluginExplorer.explorerPlugin();

      function Page() {
        const [query, setQuery] = React.useState(parameters.q || DEFAULT_QUERY);
        const [variables, setVariables] = React.useState(parameters.variables);
        return React.createElement(GraphiQL, {
          fetcher,
          plugins: [explorer],
          query,
          variables,
          defaultEditorToolsVisibility: true,
          inputValueDeprecation: true,
          isHeadersEditorEnabled: true,
          onEditQuery(value) { setQuery(value); updateURL({ q: value }); },
          onEditVariables(value) { setVariables(value); updateURL({ variables: value }); },
        });
      }

      ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(Page));
    </script>
  </body>
</html>
"""


def graphiql_page(node_modules: Path) -> str:
    """The page, or one saying how to install its assets while they are missing."""
    missing = ui_assets.missing(node_modules, ASSETS.values())
    if missing:
        return ui_assets.install_page("GraphiQL", missing, MEANWHILE)
    return PAGE.replace("@ASSETS@", ASSETS_PATH).replace("@DEFAULT_QUERY@", json.dumps(DEFAULT_QUERY))


def graphiql_assets(settings: Settings) -> list[HTTPRouteHandler]:
    """The route serving GraphiQL's assets; none when GraphiQL is off (TMF629_GRAPHQL_INTROSPECTION=false)."""
    if not settings.graphql_introspection:
        return []
    node_modules = settings.ui_assets_dir

    @get(f"{ASSETS_PATH}/{{name:str}}", sync_to_thread=False, include_in_schema=False)
    def graphiql_asset(name: str) -> File:
        if name not in ASSETS or not (node_modules / ASSETS[name]).is_file():
            raise NotFoundException(f"No GraphiQL asset {name!r}")
        path = node_modules / ASSETS[name]
        return File(
            path, filename=name, content_disposition_type="inline", headers={"Cache-Control": CACHE_CONTROL}
        )

    return [graphiql_asset]
