"""Headless Debian Chromium without network, driven over the Chrome DevTools Protocol (a websocket).

No browser download and no driver package: `/usr/bin/chromium --remote-debugging-port=0` and the `websockets`
client of the dev dependencies. Every host name but 127.0.0.1 fails to resolve, and each page records every
request it makes (HTTP and websocket), so a test can assert that a page reached nothing else.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import os
import signal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from websockets.asyncio.client import ClientConnection, connect

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,900",
    "--remote-debugging-port=0",
]
START_TIMEOUT = 30.0
COMMAND_TIMEOUT = 30.0


class Chromium:
    """One browser process with a fresh profile in `profile_dir`; always killed on exit."""

    def __init__(self, profile_dir: Path) -> None:
        self.profile_dir = profile_dir
        self.process: asyncio.subprocess.Process | None = None
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.pages: dict[str, Page] = {}

    async def __aenter__(self) -> Chromium:
        self.process = await asyncio.create_subprocess_exec(
            str(CHROMIUM),
            *FLAGS,
            f"--user-data-dir={self.profile_dir}",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the renderers die with it
        )
        try:
            endpoint = await self._endpoint()
            self.ws = await connect(endpoint, max_size=None, ping_interval=None)
            self.reader = asyncio.create_task(self._read())
        except BaseException:
            await self._kill()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.send("Browser.close"), 5)
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader
        await self._kill()

    async def _endpoint(self) -> str:
        """The browser's websocket URL, from the DevToolsActivePort file it writes once it listens."""
        assert self.process is not None
        active = self.profile_dir / "DevToolsActivePort"
        async with asyncio.timeout(START_TIMEOUT):
            while not active.is_file() or len(active.read_text().split()) < 2:
                if self.process.returncode is not None:
                    raise RuntimeError(f"chromium exited with {self.process.returncode}")
                await asyncio.sleep(0.05)
        port, path = active.read_text().split()[:2]
        return f"ws://127.0.0.1:{port}{path}"

    async def _kill(self) -> None:
        process = self.process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            if process.returncode is None:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(process.wait(), 3)
            os.killpg(process.pid, signal.SIGKILL)  # the group of the browser this test started
        await process.wait()

    async def _read(self) -> None:
        assert self.ws is not None
        async for raw in self.ws:
            message = orjson.loads(raw)
            if "id" in message:
                future = self.pending.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message)
            elif (page := self.pages.get(message.get("sessionId", ""))) is not None:
                page.event(message["method"], message.get("params", {}))

    async def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> Any:
        assert self.ws is not None
        message_id = next(self.ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[message_id] = future
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        await self.ws.send(orjson.dumps(message).decode())
        answer = await asyncio.wait_for(future, COMMAND_TIMEOUT)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    async def open(self, url: str) -> Page:
        """A new tab that records its requests from the start, navigated to `url`."""
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        page = Page(self, attached["sessionId"])
        self.pages[page.session] = page
        await page.send("Network.enable")
        await page.send("Page.enable")
        await page.send("Runtime.enable")
        await page.send("Page.navigate", {"url": url})
        return page


class Page:
    def __init__(self, browser: Chromium, session: str) -> None:
        self.browser = browser
        self.session = session
        self.requests: list[str] = []
        self.errors: list[str] = []

    def event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Network.requestWillBeSent":
            if not params["request"]["url"].startswith("data:"):  # inline data, no request leaves the page
                self.requests.append(params["request"]["url"])
        elif method == "Network.webSocketCreated":
            self.requests.append(params["url"])
        elif method == "Runtime.exceptionThrown":
            self.errors.append(str(params["exceptionDetails"].get("exception", {}).get("description")))

    def hosts(self) -> set[str]:
        """The hosts of every network request so far (a URL without a host stands for itself)."""
        return {
            urlsplit(url).hostname or url for url in self.requests if not url.startswith(("blob:", "about:"))
        }

    async def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return await self.browser.send(method, params, self.session)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 20.0) -> Any:
        """The first truthy value of `expression`, polled; on timeout, fail with what the page shows."""
        try:
            async with asyncio.timeout(timeout):
                while not (value := await self.evaluate(expression)):
                    await asyncio.sleep(0.1)
                return value
        except TimeoutError:
            text = await self.evaluate("document.body ? document.body.innerText.slice(0, 2000) : ''")
            raise AssertionError(
                f"timed out waiting for {expression}\npage text: {text}\nerrors: {self.errors}"
                f"\nrequests: {self.requests}"
            ) from None

    async def screenshot(self, path: Path) -> None:
        shot = await self.send("Page.captureScreenshot", {"format": "png"})
        path.write_bytes(base64.b64decode(shot["data"]))
