"""The REST ceiling: a bare Litestar app answering GET /customer/{id} with a customer dict from memory.

No database, no validation, no dependency injection: what one uvicorn worker can do with Litestar
alone. Serve with `uvicorn bench.ceiling_litestar:app --loop uvloop --http httptools --no-access-log`.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, get

from bench.data import API_PATH, customer_resource

_DOCUMENT = customer_resource("", "")
_DOCUMENT.pop("id")
_DOCUMENT.pop("href")


@get(f"{API_PATH}/customer/{{customer_id:str}}")
async def retrieve_customer(request: Request[Any, Any, Any], customer_id: str) -> dict[str, Any]:
    base = f"http://{request.headers.get('host', 'localhost')}{API_PATH}"
    return {"id": customer_id, "href": f"{base}/customer/{customer_id}", **_DOCUMENT}


app = Litestar(route_handlers=[retrieve_customer], logging_config=None, debug=False)
