import os
import socket
import subprocess
import sys
from datetime import timedelta

import pytest

from core.platform import leases
from core.platform.db import utcnow
from tests.conftest import require_peer

TTL = timedelta(seconds=30)


def test_one_holder_at_a_time(core):
    now = utcnow()
    assert leases.acquire(core.db, "scan", "a", TTL, now=now)
    assert not leases.acquire(core.db, "scan", "b", TTL, now=now + timedelta(seconds=5))
    assert leases.acquire(core.db, "scan", "a", TTL, now=now + timedelta(seconds=10))
    assert leases.current(core.db)["scan"].holder == "a"


def test_an_expired_lease_is_taken_over_and_the_old_holder_learns_it(core):
    now = utcnow()
    assert leases.acquire(core.db, "poll", "a", TTL, now=now)
    later = now + TTL + timedelta(seconds=1)
    assert leases.acquire(core.db, "poll", "b", TTL, now=later, state={"bound": True})
    assert not leases.renew(core.db, "poll", "a", TTL, now=later)
    view = leases.current(core.db)["poll"]
    assert (view.holder, view.state) == ("b", {"bound": True})
    assert view.live(later)


def test_release_frees_the_lease_at_once(core):
    now = utcnow()
    assert leases.acquire(core.db, "bind", "a", TTL, now=now)
    assert not leases.release(core.db, "bind", "b")
    assert leases.release(core.db, "bind", "a")
    assert leases.acquire(core.db, "bind", "b", TTL, now=now)
    assert "x" not in leases.current(core.db)


def holder_of_an_exited_process(*command: str, component: str = "scheduler") -> str:
    """The ``holder_name`` of a gateway process run by ``command``, which has exited."""
    child = subprocess.run([*command, sys.executable, "-c",
                            "from core.platform import leases; "
                            f"print(leases.holder_name({component!r}))"],
                           capture_output=True, text=True, check=True, timeout=60)
    return child.stdout.strip()


IDENTITY = leases.namespace_identity()  # None off Linux: the tests needing it fail
ANOTHER_IDENTITY = "0" * 12 if IDENTITY != "0" * 12 else "1" * 12


def test_a_lease_of_a_dead_process_on_this_machine_is_taken_at_once(core):
    now = utcnow()
    crashed = holder_of_an_exited_process()
    assert IDENTITY is not None and crashed.endswith(f"/{IDENTITY}")
    assert leases.acquire(core.db, "scan", crashed, TTL, now=now)

    restarted = leases.holder_name("scheduler")
    assert leases.acquire(core.db, "scan", restarted, TTL, now=now + timedelta(seconds=1))
    assert leases.current(core.db)["scan"].holder == restarted
    assert not leases.renew(core.db, "scan", crashed, TTL, now=now)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("holder", [
    f"scheduler@{socket.gethostname()}:{os.getppid()}:abc123/{IDENTITY}",  # our parent
    f"scheduler@another-machine:1:abc123/{IDENTITY}",  # another host name
    "an-operator's-name",
])
def test_a_live_or_remote_holder_keeps_its_lease_until_it_expires(core, holder):
    now = utcnow()
    assert leases.acquire(core.db, "scan", holder, TTL, now=now)

    assert not leases.acquire(core.db, "scan", "b", TTL, now=now + timedelta(seconds=1))
    assert leases.acquire(core.db, "scan", "b", TTL, now=now + TTL)


@pytest.mark.parametrize("identity", [
    pytest.param(f"/{ANOTHER_IDENTITY}", id="another-pid-namespace"),
    pytest.param("", id="no-identity-as-before"),
    pytest.param("/", id="an-empty-identity"),
])
def test_a_dead_pid_of_another_or_an_unknown_namespace_keeps_its_lease(core, identity):
    # Same host name, pid gone here: as a container sharing the host name would look.
    assert IDENTITY is not None
    holder = f"scheduler@{socket.gethostname()}:{_dead_pid()}:abc123{identity}"
    now = utcnow()
    assert leases.acquire(core.db, "scan", holder, TTL, now=now)

    assert not leases.acquire(core.db, "scan", "b", TTL, now=now + timedelta(seconds=1))
    assert leases.current(core.db)["scan"].holder == holder
    assert leases.acquire(core.db, "scan", "b", TTL, now=now + TTL)


def test_where_our_own_identity_is_unknown_nothing_is_taken_early(core, monkeypatch):
    crashed = holder_of_an_exited_process()
    monkeypatch.setattr(leases, "namespace_identity", lambda: None)

    assert not leases.reclaimable(crashed)
    assert leases.holder_name("scheduler").count("/") == 0  # nor claims an identity
    now = utcnow()
    assert leases.acquire(core.db, "scan", crashed, TTL, now=now)
    assert not leases.acquire(core.db, "scan", "b", TTL, now=now + timedelta(seconds=1))


UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc"]


@pytest.fixture(scope="module")
def unshare_pid() -> None:
    """A pid namespace of our own (util-linux's unshare, as root): skipped on a
    laptop without it, a failure under CI=true (scripts/system-deps.sh installs it)."""
    try:
        works = subprocess.run([*UNSHARE, "true"], capture_output=True,
                               timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        works = False
    require_peer(works, "unshare of a pid namespace (util-linux, as root)")


@pytest.mark.usefixtures("unshare_pid")
def test_a_process_in_its_own_pid_namespace_has_another_identity():
    same = holder_of_an_exited_process()
    other = holder_of_an_exited_process(*UNSHARE)

    assert IDENTITY is not None and same.rpartition("/")[2] == IDENTITY
    assert other.rpartition("/")[2] not in ("", IDENTITY)


@pytest.mark.usefixtures("unshare_pid")
def test_a_container_sharing_the_host_name_does_not_take_a_live_lease():
    """Seen from a pid namespace of its own, this live process's pid is gone."""
    live = leases.holder_name("email")
    pid = live.partition("@")[2].split(":")[1]
    seen = subprocess.run(
        [*UNSHARE, sys.executable, "-c",
         "import os, sys\n"
         "from core.platform import leases\n"
         "try:\n    os.kill(int(sys.argv[2]), 0)\n    print('alive', end=' ')\n"
         "except ProcessLookupError:\n    print('gone', end=' ')\n"
         "print(leases.reclaimable(sys.argv[1]))\n", live, pid],
        capture_output=True, text=True, check=True, timeout=60)

    assert seen.stdout.split() == ["gone", "False"]
