"""What the tests against a live gateway share: the app under waitress on a loopback
socket, as in production, and the headless Chromium that drives it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from waitress import create_server, wasyncore

from core.access.users import StaffUsers
from tests.conftest import require_peer

# Every staff user these tests make signs in with it.
PASSWORD = "date palms by the wadi"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@contextmanager
def serving(app) -> Iterator[str]:
    """The app under waitress on a free local port; its URL while the block runs."""
    # A map of its own: waitress's default is one map for the whole process, and closing
    # everything in it at the end would close another test's server (its trigger's fd
    # then gone: EBADF at that server's own end).
    server = create_server(app, map={}, host="127.0.0.1", port=0)
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


def add_staff(core, staff: dict[str, tuple[str, str | None]]) -> None:
    """The staff users ``{login: (role, agency)}``, each with ``PASSWORD``; hashed with a
    cheap Argon2 so that signing in does not dominate the tests' time."""
    core.__dict__["users"] = StaffUsers(
        core.db, core.config, hasher=PasswordHasher(time_cost=1, memory_cost=1024,
                                                    parallelism=1))
    for login, (role, agency) in staff.items():
        created = core.users.create(role, login, name=login, agency=agency)
        core.users.change_password(created.user.id, created.password, PASSWORD)


@contextmanager
def signed_in_pages(chromium, url: str, next_path: str) -> Iterator[Callable[..., Any]]:
    """``open_as(login)``: a page of a fresh browser signed in as ``login`` at
    ``next_path`` (``None``: not signed in). At the end, no page had a script error or
    anything the Content-Security-Policy refused (a 4xx the browser logs is the page
    working)."""
    contexts = []
    errors: list[str] = []

    def open_as(login: str | None):
        context = chromium.new_context(viewport={"width": 1280, "height": 900},
                                       accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and "status of 4" not in msg.text
                and errors.append(msg.text))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        if login:
            page.goto(f"{url}/login?next={next_path}")
            page.get_by_label("اسم الدخول").fill(login)
            page.get_by_label("كلمة المرور").fill(PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(lambda at: "/login" not in at)
        return page

    try:
        yield open_as
    finally:
        for context in contexts:
            context.close()
    assert errors == []
