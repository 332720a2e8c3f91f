"""bench/cluster.py's short mode: every component twice on one PostgreSQL, killed at
random for a minute under load, the SMSC and PostgreSQL restarted once each; then nothing
lost, nothing doubled beyond the stated bound, every inquiry answered or refused cleanly.

Marked ``postgres``: it runs in the PostgreSQL pass, which has the server's binaries; the
bed makes a cluster of its own (it crashes it), not the suite's. About 80 s."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from core.platform.settings import REPO_ROOT
from tests.conftest import require_peer
from tests.peers.dovecot_peer import dovecot_available
from tests.peers.smsc_peer import smsc_peer_available


def _bench():
    spec = importlib.util.spec_from_file_location("bench_cluster",
                                                  REPO_ROOT / "bench" / "cluster.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.postgres
def test_a_minute_of_chaos_loses_nothing_and_doubles_nothing_beyond_the_bound(tmp_path):
    cluster = _bench()
    for available, what in (cluster.postgres_available(), smsc_peer_available(),
                            dovecot_available()):
        require_peer(available, what)
    options = cluster.Options(minutes=1, out=tmp_path, drain_seconds=120)

    report = cluster.run(options)

    counts = {name: count for name, count, _expected, _ok in report.rows}
    violated = [row for row in report.rows if not row[3]]
    assert not report.broken and not violated, f"{report.table()}\n{report.details}"
    # The chaos happened, and the load reached every component.
    assert counts["components killed (SIGKILL)"] >= 5
    assert (counts["SMSC restarts"], counts["PostgreSQL crashes"]) == (1, 1)
    assert counts["  deliveries (with redeliveries)"] >= counts["MO sent by the SMSC"] > 10
    assert counts["mails to the mailbox"] > 5 and counts["late cases filed"] > 5
    assert counts["  email"] > 0 and counts["HTTP inquiries answered (2xx)"] > 100
