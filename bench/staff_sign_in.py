"""Staff sign-in: what each kind of refusal costs, beside a right password, with the
production hashing parameters (argon2-cffi's RFC 9106 defaults), on a throwaway SQLite.

    .venv/bin/python bench/staff_sign_in.py [--rounds 15]

Cases: the right password; a wrong one (counted towards the lockout); an unknown login;
a disabled account; a locked one (refused without counting). Each figure is the median
and p90 of ``--rounds`` sign-ins, the kinds interleaved so that the machine's load falls
on all alike. Target: every refusal's median within 20 % of the wrong password's (an
unknown login must not answer faster: that would tell which logins exist); PASS/MISS is
printed. The right password costs one write more (and a rehash only when the parameters
changed), which a caller learns from the answer anyway.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.access.users import StaffUsers  # noqa: E402
from core.platform import migrate  # noqa: E402
from core.platform.db import Database  # noqa: E402
from core.platform.ratelimit import MemoryFailureCounts  # noqa: E402
from gateway.settings import load_settings  # noqa: E402

WRONG = "not the password at all"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        db = Database(url)
        migrate.upgrade(db.engine)
        config = load_settings(None, database={"url": url}, var_dir=folder,
                               security={"national_id_key": "bench"})
        # No address is counted here (origin None): the refusals by address come before
        # any hash and are not what is measured.
        users = StaffUsers(db, config, counts=MemoryFailureCounts(900),
                           max_failures=10**9)
        right = users.create("leadership", "right.user").password
        users.create("leadership", "wrong.user")
        gone = users.create("leadership", "gone.user").password
        users.disable("gone.user")
        locked = StaffUsers(db, config, counts=MemoryFailureCounts(900), max_failures=1)
        users.create("leadership", "locked.user")
        locked.sign_in("locked.user", WRONG, origin=None)
        kinds = {
            "right password": ("right.user", right),
            "wrong password": ("wrong.user", WRONG),
            "unknown login": ("nobody.here", right),
            "disabled account": ("gone.user", gone),
            "locked account": ("locked.user", WRONG),
        }
        samples: dict[str, list[float]] = {kind: [] for kind in kinds}
        for login, password in kinds.values():  # warm-up: the decoy hash is made once
            users.sign_in(login, password, origin=None)
        for _ in range(args.rounds):
            for kind, (login, password) in kinds.items():
                started = time.perf_counter()
                users.sign_in(login, password, origin=None)
                samples[kind].append((time.perf_counter() - started) * 1000)
        db.dispose()
    medians = {kind: statistics.median(times) for kind, times in samples.items()}
    for kind, times in samples.items():
        p90 = statistics.quantiles(times, n=10)[-1]
        print(f"{kind:<18} median {medians[kind]:7.1f} ms   p90 {p90:7.1f} ms")
    base = medians["wrong password"]
    worst = max(abs(medians[kind] - base) / base for kind in
                ("unknown login", "disabled account", "locked account"))
    verdict = "PASS" if worst <= 0.20 else "MISS"
    print(f"refusals within {worst:.0%} of a wrong password's median: {verdict} (<= 20 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
