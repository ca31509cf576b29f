"""Real Chromium (Debian's) driven by Playwright, and a live server for it on loopback."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection",
]


def require_chromium() -> None:
    """Fail (CI) or skip (elsewhere) when Debian's chromium is missing; `make test` installs it."""
    if not Path(CHROMIUM).exists():
        from tests.conftest import IN_CI

        message = "chromium is not installed: `make test` installs Debian's chromium"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def live_server(app, started=None):
    """Serve APP with uvicorn on a free loopback port in a thread; yields its base URL. STARTED, when given, is
    called with the running uvicorn server (its event loop is `server.servers[0].get_loop()`)."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("live server did not start")
        time.sleep(0.02)
    if started is not None:
        started(server)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def chromium(tmp_path: Path, **context_options):
    """A fresh persistent Chromium context (its own profile directory)."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=FLAGS,
            locale=context_options.pop("locale", "zh-CN"), viewport=context_options.pop("viewport", {"width": 1366, "height": 768}),
            **context_options,
        )
        try:
            yield context
        finally:
            context.close()


def screenshot(page, name: str) -> Path:
    """Save a screenshot under test-artifacts/ for a person to look at."""
    from tests.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def run_in_namespace(module: str, args: list[str], out: Path, timeout: float = 240) -> dict:
    """Run `python -m MODULE ARGS` under `unshare -n` (traffic on its own loopback only); its result.json, with
    the screenshots kept under test-artifacts/. Fails (CI) or skips (elsewhere) without network namespaces."""
    import json
    import subprocess
    import sys

    from tests.conftest import ARTIFACTS, IN_CI

    require_chromium()
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        message = f"cannot make a private network namespace: {probe.stderr.decode().strip()}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    completed = subprocess.run(["unshare", "-n", sys.executable, "-m", module, *args, str(out)],
                               cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=timeout)
    result = json.loads((out / "result.json").read_text()) if (out / "result.json").exists() else {}
    ARTIFACTS.mkdir(exist_ok=True)
    for picture in out.glob("*.png"):
        shutil.copy(picture, ARTIFACTS / picture.name)
    assert result, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert "error" not in result, result.get("error", "") + completed.stderr[-2000:]
    return result
