"""The README's screenshots of the staff web app (Citizen's Voice), in Arabic, from the
demo data: the coordinator's inbox, a case page with its clock, the specialist's queue
and the admin's categories.

    python scripts/voice_screenshots.py [OUT_DIR]     (default: docs/)

A fresh SQLite database in a temporary directory, migrated and loaded by the public
commands (``gateway db upgrade``, ``gateway demo-data``), served by waitress as in
production, photographed by headless Chromium (/usr/bin/chromium, as the browser tests
use) signed in as the demo's users. Nothing of the checkout's own var/ is touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]
VIEWPORT = {"width": 1360, "height": 900}
SHOTS = {
    "voice-inbox-ar.png": "demo.coordinator",
    "voice-case-ar.png": "demo.coordinator",
    "voice-queue-ar.png": "demo.specialist",
    "voice-categories-ar.png": "demo.admin",
}


def gateway(env: dict[str, str], *args: str) -> str:
    """One ``gateway`` command on the temporary database; its output."""
    done = subprocess.run([sys.executable, "-c", "from gateway.cli import main; main()",
                           *args], env=env, cwd=REPO, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"gateway {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def demo_env(var_dir: Path) -> dict[str, str]:
    """The environment of a gateway whose files and SQLite database are in ``var_dir``,
    its schema made."""
    env = {**os.environ, "PYTHONPATH": str(REPO),
           "GATEWAY__VAR_DIR": str(var_dir),
           "GATEWAY__DATABASE__URL": f"sqlite:///{var_dir / 'demo.db'}"}
    gateway(env, "db", "upgrade")
    return env


def serve(var_dir: Path, env: dict[str, str]):
    """The web app on a free loopback port, in this process; (url, stop)."""
    os.environ.update(env)
    from waitress import create_server, wasyncore

    from core.service import build
    from gateway.app import create_app
    from gateway.settings import load_settings

    settings = load_settings(None)
    core = build(settings, background_log=False)
    server = create_server(create_app(settings, core), host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def stop() -> None:
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        thread.join(timeout=5)
        server.task_dispatcher.shutdown()
        core.close()

    return f"http://127.0.0.1:{server.effective_port}", stop


def sign_in(browser, site: str, login: str | None, password: str,
            next_path: str = "/voice/"):
    """A page of a fresh Arabic browser context, signed in as ``login`` (``None``: not
    signed in)."""
    context = browser.new_context(viewport=VIEWPORT, locale="ar-SA")
    page = context.new_page()
    if login is None:
        return page
    page.goto(f"{site}/login?next={next_path}")
    page.locator("#login").fill(login)
    page.locator("#password").fill(password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def photograph(site: str, out: Path, password: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=CHROMIUM_ARGS)
        coordinator = sign_in(browser, site, SHOTS["voice-inbox-ar.png"], password)
        coordinator.goto(f"{site}/voice/inbox?tab=open")
        coordinator.screenshot(path=str(out / "voice-inbox-ar.png"))
        # A case whose clock has run a while: the inbox's first, nearest its deadline.
        coordinator.locator("#cases tbody tr th a").first.click()
        coordinator.wait_for_url("**/voice/cases/**")
        # The case and its clock, and the first of the forms; the rest is more of them.
        coordinator.set_viewport_size({"width": VIEWPORT["width"], "height": 1500})
        coordinator.screenshot(path=str(out / "voice-case-ar.png"))

        specialist = sign_in(browser, site, SHOTS["voice-queue-ar.png"], password)
        specialist.goto(f"{site}/voice/queue")
        specialist.screenshot(path=str(out / "voice-queue-ar.png"))

        admin = sign_in(browser, site, SHOTS["voice-categories-ar.png"], password)
        admin.goto(f"{site}/admin/categories?agency=AMANA")
        admin.screenshot(path=str(out / "voice-categories-ar.png"))
        browser.close()


def main() -> None:
    sys.path.insert(0, str(REPO))  # this checkout's code, whatever is installed
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs"
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is needed (scripts/system-deps.sh installs it)")
    with tempfile.TemporaryDirectory() as tmp:
        var_dir = Path(tmp)
        env = demo_env(var_dir)
        report = gateway(env, "demo-data", "--transactions", "50", "--cases", "300")
        from core.access.demo import DEMO_PASSWORD

        if "demo.coordinator" not in report:
            raise SystemExit("gateway demo-data made no demo staff accounts")
        site, stop = serve(var_dir, env)
        try:
            photograph(site, out, DEMO_PASSWORD)
        finally:
            stop()
    for name in SHOTS:
        print(out / name)


if __name__ == "__main__":
    main()
