"""What the tests against a live gateway share: the app under waitress on a loopback
socket, as in production, and the headless Chromium that drives it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from waitress import create_server, wasyncore

from tests.conftest import require_peer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@contextmanager
def serving(app) -> Iterator[str]:
    """The app under waitress on a free local port; its URL while the block runs."""
    server = create_server(app, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        # Close the sockets from the loop's own thread (a trigger thunk): closing them
        # from here would pull them from under a running select(). The loop ends when
        # none is left.
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        thread.join(timeout=5)
        server.task_dispatcher.shutdown()


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """Headless Chromium (skipped on a laptop without it, a failure in CI)."""
    require_peer(CHROMIUM.exists(), "Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
