"""The staff web app's pages at a million cases: what a coordinator, a specialist, a leader
and leadership wait for, the whole page (session check, the core's statements, the
audit row, the template), not the list's query alone (that is ``bench/voice.py``).

    .venv/bin/python bench/voice_pages.py [--cases 1000000] [--database-url URL]
                                          [--rounds 3] [--keep DIR]

Data: ``bench/voice.py``'s (``load``: cases over 24 agencies and the emirate, every
state, about 10 events each). ``--keep DIR`` keeps the SQLite file there and reuses it
on the next run. Each page is fetched through the Flask app in this process (no socket:
the server's own cost is bench/inquiry_http.py's subject), signed in as the bench's
users by a real staff session.

Figures: p95 per page of every sample: the inbox (six agencies, the emirate among them,
every tab, its first page and the page its "next page" link leads to), the specialist's
queue, the leader's list (all, late only, one category), leadership's list (every
agency, one agency). Target: the coordinator's inbox page p95 under 300 ms
(PASS/MISS printed). Exit status 0 unless a page answered other than 200.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

# The repository in place of bench/ itself, so that ``bench.…`` imports as a package and
# nothing in bench/ can shadow a module of the same name.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import voice as dataset  # noqa: E402
from core.access.actors import AGENCY_LEADER, COORDINATOR, SPECIALIST  # noqa: E402
from core.service import build  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.settings import load_settings  # noqa: E402

TARGET_MS = 300
AGENCIES = (1, 2, 7, 13, 24, dataset.EMIRATE)
NEXT = re.compile(r'rel="next" href="([^"]+)"')


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000


class Pages:
    def __init__(self, app, core, rounds: int) -> None:
        self.app, self.core, self.rounds = app, core, rounds
        self.samples: dict[str, list[float]] = {}

    def client(self, user_id: int):
        client = self.app.test_client()
        sid = self.core.staff_sessions.open_for_user(user_id)
        with client.session_transaction() as held:
            held["staff_user"] = {"sid": sid}
        return client

    def get(self, name: str, client, url: str) -> str:
        """Fetch ``url`` ``rounds`` times; its text. A page other than 200 stops the run."""
        body = ""
        for _ in range(self.rounds):
            started = time.perf_counter()
            response = client.get(url)
            self.samples.setdefault(name, []).append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{url}: {response.status_code}")
            body = response.get_data(as_text=True)
        return body

    def two_pages(self, name: str, client, url: str) -> None:
        first = self.get(name, client, url)
        link = NEXT.search(first)
        if link:
            self.get(name, client, link.group(1).replace("&amp;", "&"))


def measure(app, core, rounds: int) -> dict[str, float]:
    pages = Pages(app, core, rounds)
    for agency in AGENCIES:
        coordinator = pages.client(dataset._user_id(agency, COORDINATOR))
        for tab in ("new", "unrouted", "drafts", "near", "past", "awaiting", "open"):
            if tab == "unrouted" and agency != dataset.EMIRATE:
                continue
            pages.two_pages("inbox (every tab)", coordinator, f"/voice/inbox?tab={tab}")
        specialist = pages.client(dataset._user_id(agency, SPECIALIST, 3))
        pages.two_pages("specialist's queue", specialist, "/voice/queue")
        leader = pages.client(dataset._user_id(agency, AGENCY_LEADER))
        pages.two_pages("leader: all", leader, "/voice/cases")
        pages.two_pages("leader: late only", leader, "/voice/cases?late=1")
        category = f"C{agency}-2"
        pages.two_pages("leader: one category", leader, f"/voice/cases?category={category}")
    leadership = pages.client(dataset.LEADERSHIP_ID)
    for _ in AGENCIES:
        pages.two_pages("leadership: every agency", leadership, "/voice/cases")
        pages.two_pages("leadership: one agency", leadership, "/voice/cases?agency=AG03")
    return {name: _p95(samples) for name, samples in pages.samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--database-url")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the SQLite file here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        database = folder / f"voice-{args.cases}.db"
        url = args.database_url or f"sqlite:///{database}"
        reuse = args.database_url is None and database.exists()
        if not reuse:
            events, seconds = dataset.load(url, args.cases)
            print(f"loaded {args.cases:,} cases and {events:,} events in {seconds:.0f} s")
        settings = load_settings(None, database={"url": url}, var_dir=str(folder),
                                 gateway={"secret_key": "bench"})
        core = build(settings, background_log=False)
        try:
            app = create_app(settings, core)
            started = time.perf_counter()
            figures = measure(app, core, args.rounds)
            print(f"pages measured in {time.perf_counter() - started:.0f} s "
                  f"(p95, {args.rounds} rounds per page)")
            for name, value in figures.items():
                print(f"   {name:<28}{value:>10.1f} ms")
            inbox = figures["inbox (every tab)"]
            verdict = "PASS" if inbox < TARGET_MS else "MISS"
            print(f"coordinator's inbox page p95 {inbox:.1f} ms (target < {TARGET_MS} ms): "
                  f"{verdict}")
        finally:
            core.close()


if __name__ == "__main__":
    main()
