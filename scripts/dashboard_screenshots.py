"""The README's screenshots of the dashboards, in Arabic and English, from the demo data:
Citizen's Voice as the emirate's leadership and as an agency leader see it, the
transactions' page, and the public transparency page.

    python scripts/dashboard_screenshots.py [OUT_DIR]     (default: docs/dashboards/)

As scripts/voice_screenshots.py: a fresh SQLite database in a temporary directory,
migrated and loaded by the public commands (``gateway db upgrade``, ``gateway
demo-data``), served by waitress, photographed by headless Chromium signed in as the
demo's leadership. The demo has no inquiries: this script makes some through the core's
own ``inquire`` (the channels' way in), spread over the last weeks' hours, so that the
"by channel" and "by hour" charts have something to show.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scripts.voice_screenshots import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    demo_env,
    gateway,
    serve,
    sign_in,
)

# file name -> (the demo user signed in, or None for the public, path)
PAGES = {"voice-emirate": ("demo.leadership", "/dashboards/voice"),
         "voice-agency": ("demo.leader", "/dashboards/voice"),
         "transactions": ("demo.leadership", "/dashboards/transactions"),
         "transparency": (None, "/transparency")}
# (channel, weight): roughly how citizens spread over the channels.
CHANNELS = (("sms", 5), ("ivr", 3), ("portal", 4), ("kiosk", 1))


def make_inquiries(count: int = 240) -> None:
    """``count`` inquiries over the last 28 days at working-hour-ish times, by the core."""
    import time_machine

    from core.platform.clock import utcnow
    from core.service import build
    from core.transactions.inquiry import InquiryRequest
    from gateway.settings import load_settings

    settings = load_settings(None)
    core = build(settings, background_log=False)
    now = utcnow()
    channels = [name for name, weight in CHANNELS for _ in range(weight)]
    try:
        for index in range(count):
            # Most between 08:00 and 14:00 Riyadh (05-11 UTC), some in the evening.
            hour = (5 + index % 7) if index % 4 else (14 + index % 6)
            at = (now - timedelta(days=1 + index % 28)).replace(hour=hour, minute=index % 60)
            with time_machine.travel(at, tick=False):
                core.inquire(InquiryRequest(channel=channels[index % len(channels)],
                                            number_text=f"99{index:05d}",
                                            mobile="0551234567",
                                            origin=f"10.0.{index // 250}.{index % 250}"))
        core.dashboards.rebuild()  # what the scheduler would have done by now
    finally:
        core.close()


def photograph(site: str, out: Path, password: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    made = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=CHROMIUM_ARGS)
        for name, (login, path) in PAGES.items():
            page = sign_in(browser, site, login, password, next_path="/dashboards/")
            for lang in ("ar", "en"):
                page.goto(f"{site}{path}?lang={lang}")
                target = out / f"{name}-{lang}.png"
                page.screenshot(path=str(target), full_page=True)
                made.append(target)
            page.context.close()
        browser.close()
    return made


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "dashboards"
    out.mkdir(parents=True, exist_ok=True)
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is needed (scripts/system-deps.sh installs it)")
    with tempfile.TemporaryDirectory() as tmp:
        var_dir = Path(tmp)
        env = demo_env(var_dir)
        gateway(env, "demo-data", "--transactions", "400", "--cases", "300")
        from core.access.demo import DEMO_PASSWORD

        os.environ.update(env)
        make_inquiries()
        site, stop = serve(var_dir, env)
        try:
            made = photograph(site, out, DEMO_PASSWORD)
        finally:
            stop()
    for path in made:
        print(path)


if __name__ == "__main__":
    main()
