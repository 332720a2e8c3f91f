"""The processes of tests/core/test_scale_out.py: each a process of its own with its
database settings in its environment (GATEWAY__DATABASE__URL, __POOLER, __POOL_SIZE, read
as the gateway reads them), doing with the outbox and the leases what an SMS sender and a
scheduler do, and saying what it did on stdout, one JSON object a line. Only the core's
database and outbox are imported: a process is ready in a fraction of a second.

    python -m tests.core.scale_workers claim NAME GO_FILE
        claims and marks sent, as the SMS dispatcher does (``outbox.mark_sent_and_claim``),
        until the outbox has nothing due; then {"claimed": [ids]}
    python -m tests.core.scale_workers lease GO_FILE TTL_SECONDS HEARTBEAT_SECONDS
        the scheduler's heartbeat on the overdue scan's lease (``Upkeep.hold_scan_lease``:
        ``leases.acquire``) with a short lease, until killed; {"held_at": seconds since the
        epoch, the lease's ``now``} at each beat it holds it

Each first prints {"ready": holder name, "pid": pid} and waits for GO_FILE to exist, so
that the processes start their work together.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

from core.messaging import outbox
from core.platform import leases
from core.platform.clock import utcnow
from core.platform.db import Database
from core.platform.settings import DatabaseSettings

# core.transactions.overdue.SCAN_LEASE (the test checks they agree), without its imports.
SCAN_LEASE = "overdue-scan"
BATCH = 20


def say(**what: object) -> None:
    print(json.dumps(what), flush=True)


def wait_for(go: Path) -> None:
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit("no go")
        time.sleep(0.01)


def database() -> Database:
    """The database as ``core.service.build`` opens it, from the environment's settings."""
    config = DatabaseSettings(**{key: os.environ[f"GATEWAY__DATABASE__{key.upper()}"]
                                 for key in ("url", "pooler", "pool_size")})
    return Database(config.url, pool_size=config.pool_size, pooler=config.pooler)


def claim(name: str, go: Path) -> None:
    db = database()
    say(ready=name, pid=os.getpid())
    wait_for(go)
    claimed: list[int] = []
    sent: list[outbox.Sent] = []
    idle = 0
    while idle < 3:
        taken = outbox.mark_sent_and_claim(db, sent, limit=BATCH, channel="sms", holder=name)
        claimed += [message.id for message in taken]
        # "Sent": the provider's id names the sender, for the test to check who sent it.
        sent = [(message.id, [f"{name}-{message.id}"], message.attempts) for message in taken]
        idle = 0 if taken else idle + 1
        time.sleep(0.002 if taken else 0.02)  # the SMSC's turn
    say(claimed=claimed)
    db.dispose()


def lease(go: Path, ttl: float, heartbeat: float) -> None:
    db = database()
    holder = leases.holder_name("scheduler")
    say(ready=holder, pid=os.getpid())
    wait_for(go)
    while True:
        now = utcnow()
        if leases.acquire(db, SCAN_LEASE, holder, timedelta(seconds=ttl), now=now):
            say(held_at=now.timestamp())
        time.sleep(heartbeat)


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["claim", name, go]:
            claim(name, Path(go))
        case ["lease", go, ttl, heartbeat]:
            lease(Path(go), float(ttl), float(heartbeat))
        case _:
            raise SystemExit(__doc__)
