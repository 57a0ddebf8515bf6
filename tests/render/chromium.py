"""Headless Chromium (Debian's package) driven over the DevTools protocol: load a page, read what it rendered,
take a screenshot. Nothing is injected into the page under test.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
)
LISTENING = re.compile(r"DevTools listening on (ws://\S+)")
# What the page reports about itself once loaded and its fonts are ready.
PROBE = """(async () => {
  await document.fonts.ready;
  const box = (e) => { const r = e.getBoundingClientRect(); return {width: r.width, height: r.height}; };
  return {
    title: document.title,
    text: document.body.innerText,
    images: [...document.images].map((i) => ({id: i.id, alt: i.alt, complete: i.complete,
        naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight, ...box(i)})),
    marks: [...document.querySelectorAll('mark')].map((m) => m.textContent),
    links: [...document.links].map((a) => a.href),
    height: document.documentElement.scrollHeight,
  };
})()"""


@dataclass
class Rendered:
    """What a page showed: the probe's findings, the fonts used for its text, and a full-page screenshot."""

    info: dict[str, Any]
    fonts: set[str]
    png: bytes


class Chromium:
    """One headless Chromium process; `render` opens a page in a new tab."""

    def __init__(self) -> None:
        executable = shutil.which("chromium")
        if executable is None:
            raise RuntimeError("chromium is not installed: run `make system-packages`")
        self.profile = tempfile.TemporaryDirectory(prefix="pressmon-chromium-", ignore_cleanup_errors=True)
        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self.profile.name}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None
        deadline = time.monotonic() + 30
        self.url = None
        while time.monotonic() < deadline and self.url is None:
            line = self.process.stderr.readline()
            if not line and self.process.poll() is not None:
                break
            match = LISTENING.search(line)
            if match:
                self.url = match.group(1)
        if self.url is None:
            self.close()
            raise RuntimeError("chromium did not open its DevTools endpoint")
        self._next_id = 0
        self._events: list[dict] = []

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        # Chromium's helper processes may still be writing to the profile as the browser exits ("Directory
        # not empty"): try again for a moment rather than fail a test over a temporary folder.
        for _ in range(20):
            try:
                shutil.rmtree(self.profile.name)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)
        self.profile.cleanup()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def render(self, url: str, width: int = 1200, height: int = 900, max_height: int = 6000) -> Rendered:
        with connect(self.url, max_size=None, open_timeout=10) as ws:
            target = self._call(ws, "Target.createTarget", {"url": "about:blank"})["targetId"]
            session = self._call(ws, "Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
            for method in ("Page.enable", "DOM.enable", "CSS.enable"):
                self._call(ws, method, {}, session)
            self._call(
                ws,
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session,
            )
            self._call(ws, "Page.navigate", {"url": url}, session)
            self._wait_event(ws, "Page.loadEventFired", session)
            result = self._call(
                ws,
                "Runtime.evaluate",
                {"expression": PROBE, "awaitPromise": True, "returnByValue": True},
                session,
            )
            info = result["result"]["value"]
            fonts = self._fonts(ws, session)
            shot = self._call(
                ws,
                "Page.captureScreenshot",
                {
                    "format": "png",
                    "captureBeyondViewport": True,
                    "clip": {
                        "x": 0,
                        "y": 0,
                        "width": width,
                        "height": min(info["height"], max_height),
                        "scale": 1,
                    },
                },
                session,
            )
            self._call(ws, "Target.closeTarget", {"targetId": target})
        return Rendered(info, fonts, base64.b64decode(shot["data"]))

    def _fonts(self, ws: Any, session: str) -> set[str]:
        """The platform fonts Chromium used to draw the text of the page's headings and paragraphs."""
        root = self._call(ws, "DOM.getDocument", {"depth": -1}, session)["root"]["nodeId"]
        nodes = self._call(
            ws, "DOM.querySelectorAll", {"nodeId": root, "selector": "h1,h2,h3,p,li,td"}, session
        )
        fonts = set()
        for node in nodes["nodeIds"][:40]:
            used = self._call(ws, "CSS.getPlatformFontsForNode", {"nodeId": node}, session)
            fonts |= {f["familyName"] for f in used["fonts"] if f["glyphCount"]}
        return fonts

    def _call(self, ws: Any, method: str, params: dict, session: str | None = None) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        ws.send(json.dumps(message))
        while True:
            reply = json.loads(ws.recv(timeout=60))
            if "method" in reply:
                self._events.append(reply)
            elif reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def _wait_event(self, ws: Any, method: str, session: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            event = self._events.pop(0) if self._events else json.loads(ws.recv(timeout=60))
            if event.get("method") == method and event.get("sessionId") == session:
                return
        raise RuntimeError(f"no {method} within 60 s")


def save(png: bytes, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return path
