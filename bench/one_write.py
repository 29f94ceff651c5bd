"""Serve a bare ceiling app the way `tmf629 serve` serves the service (app.serving.UVICORN_OPTIONS: each
response written in one piece), so that `make bench` can show how much of the service's lead over the stock
ceiling is that protocol's. Usage: python -m bench.one_write MODULE:APP PORT."""

from __future__ import annotations

import sys

import uvicorn

from app.serving import UVICORN_OPTIONS

if __name__ == "__main__":
    uvicorn.run(
        sys.argv[1],
        host="127.0.0.1",
        port=int(sys.argv[2]),
        access_log=False,
        log_level="warning",
        **UVICORN_OPTIONS,
    )
