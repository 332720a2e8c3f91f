"""SQLite writers take turns across processes (core/platform/db.py ``_WriterTurn``): a
writer of another process waits for the turn, not in SQLite's busy handler, and no
process can keep the turn from the others by dying, forking or losing a connection."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from core.platform.db import Database, _turn_descriptor

# Another process writing once, with SQLite's busy handler off: it cannot wait for the
# database's lock there, only for the turn. It prints how long it waited.
WRITER = textwrap.dedent("""
    import sys, time
    from sqlalchemy import event, text
    from core.platform.db import _TURNS, Database
    db = Database(sys.argv[1])
    event.listen(db.engine, "connect",
                 lambda connection, _: connection.execute("PRAGMA busy_timeout=0"))
    print("ready", flush=True)
    with db.write_engine.begin() as connection:
        connection.execute(text("INSERT INTO t (v) VALUES ('child')"))
""")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "turn.db"


@pytest.fixture
def db(path: Path):
    database = Database(f"sqlite:///{path}")
    with database.write_engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (v TEXT)"))
    yield database
    database.dispose()


def _other_process(path: Path) -> subprocess.Popen[str]:
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.Popen([sys.executable, "-c", WRITER, f"sqlite:///{path}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environment)


def _values(db: Database) -> list[str]:
    with db.engine.connect() as connection:
        return [row[0] for row in connection.execute(text("SELECT v FROM t ORDER BY rowid"))]


def _held_elsewhere(path: Path) -> bool:
    """Whether some descriptor holds the turn file's lock (tried on a new one)."""
    descriptor = os.open(f"{path}-turn", os.O_RDWR)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def test_a_writer_of_another_process_waits_for_the_turn_not_for_the_busy_handler(db, path):
    with db.write_engine.begin() as connection:
        connection.execute(text("INSERT INTO t (v) VALUES ('parent')"))
        child = _other_process(path)
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        time.sleep(0.5)  # the child is waiting: with busy_timeout 0 SQLite would refuse it
        assert child.poll() is None
    _, err = child.communicate(timeout=30)
    assert child.returncode == 0, err  # it waited for the commit, then wrote
    assert _values(db) == ["parent", "child"]


def test_the_turn_is_held_from_begin_to_the_connections_return_only(db, path):
    assert not _held_elsewhere(path)
    with db.write_engine.begin() as connection:
        connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
        assert _held_elsewhere(path)
    assert not _held_elsewhere(path)
    with pytest.raises(RuntimeError), db.write_engine.begin() as connection:
        connection.execute(text("INSERT INTO t (v) VALUES ('b')"))
        raise RuntimeError("rolled back")
    assert not _held_elsewhere(path)
    assert _values(db) == ["a"]


def test_a_connection_lost_in_a_write_gives_the_turn_back(db, path):
    with db.write_engine.connect() as connection:
        connection.begin()
        connection.execute(text("INSERT INTO t (v) VALUES ('lost')"))
        assert _held_elsewhere(path)
        connection.invalidate()
        assert not _held_elsewhere(path)
    child = _other_process(path)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert _values(db) == ["child"]


def test_a_killed_writer_gives_the_turn_back(db, path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time
        from sqlalchemy import text
        from core.platform.db import _TURNS, Database
        db = Database(sys.argv[1])
        with db.write_engine.begin() as connection:
            connection.execute(text("INSERT INTO t (v) VALUES ('killed')"))
            print("holding", flush=True)
            time.sleep(60)
    """), f"sqlite:///{path}"], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        assert _held_elsewhere(path)
    finally:
        holder.kill()
        holder.wait()
    with db.write_engine.begin() as connection:
        connection.execute(text("INSERT INTO t (v) VALUES ('after')"))
    assert _values(db) == ["after"]


def test_a_forked_child_does_not_share_its_parents_turn(db, path):
    # SQLite itself must not be used across fork; the turn file must not be either: a
    # descriptor inherited from the parent would share its lock (flock locks belong to
    # the open file), so a child would take the turn while the parent holds it.
    with db.write_engine.begin() as connection:
        connection.execute(text("INSERT INTO t (v) VALUES ('parent')"))
        pid = os.fork()
        if pid == 0:
            code = 3
            try:
                descriptor = _turn_descriptor(f"{path}-turn")
                assert descriptor is not None
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    code = 1  # taken: shared with the parent
                except BlockingIOError:
                    code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_engines_made_and_dropped_share_one_descriptor_of_the_turn_file(db, path):
    # The suite makes an engine per test: one descriptor each, never closed, pushed a
    # live server's sockets past select()'s 1,024 (its loop died, CI hung).
    def open_descriptors() -> int:
        return len(os.listdir("/proc/self/fd"))

    def write_once() -> None:
        db = Database(f"sqlite:///{path}")
        with db.write_engine.begin() as connection:
            connection.execute(text("INSERT INTO t (v) VALUES ('again')"))
        db.dispose()

    write_once()
    before = open_descriptors()
    for _ in range(50):
        write_once()
    assert open_descriptors() <= before + 2
