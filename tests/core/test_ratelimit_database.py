"""DatabaseFailureCounts writing behind: a failure far from any limit may reach the
database a few milliseconds after it is counted, with the other failures of the process
in one transaction. What may be unwritten is bounded (one failure per key and process),
counted by the process's own reads at once, kept when a write fails, written on close;
a crash loses only that."""

from __future__ import annotations

import threading
import time

import pytest

from core.platform.ratelimit import WRITE_CHUNK, DatabaseFailureCounts

NEVER = 3600.0  # a writer delay no test waits for: nothing is written behind unasked


@pytest.fixture
def store(core, clock):
    """This process's counters; their background writer never runs on its own."""
    counts = DatabaseFailureCounts(core.db, 60, clock=clock, delay=NEVER)
    yield counts
    counts.close()


@pytest.fixture
def database(core, clock) -> DatabaseFailureCounts:
    """What another process (or this one after a restart) reads from the database."""
    return DatabaseFailureCounts(core.db, 60, clock=clock)


def test_a_failure_written_behind_is_counted_by_its_process_at_once(store, database):
    store.add(["a"], durable=False)

    assert store.counts(["a"]) == {"a": 1}
    assert store.unwritten(["a", "b"]) == {"a": 1}
    assert database.counts(["a"]) == {}  # not in the database yet


def test_the_writer_writes_a_failure_behind_within_its_delay(core, clock, database):
    store = DatabaseFailureCounts(core.db, 60, clock=clock, delay=0.01)
    try:
        store.add(["a", "b"], durable=False)
        deadline = time.monotonic() + 10
        while database.counts(["a", "b"]) != {"a": 1, "b": 1}:
            assert time.monotonic() < deadline, "not written behind"
            time.sleep(0.01)
        assert store.unwritten(["a", "b"]) == {}
        assert store.counts(["a", "b"]) == {"a": 1, "b": 1}  # not counted twice
    finally:
        store.close()


def test_a_key_has_at_most_one_unwritten_failure(store, database):
    store.add(["a", "b"], durable=False)
    store.add(["c"], durable=False)

    store.add(["a"], durable=False)  # a second of "a": written now, with the first

    assert database.counts(["a", "b", "c"]) == {"a": 2}
    assert store.unwritten(["a", "b", "c"]) == {"b": 1, "c": 1}  # still behind
    assert store.counts(["a", "b", "c"]) == {"a": 2, "b": 1, "c": 1}


def test_a_durable_failure_is_written_with_the_waiting_failures_of_its_keys(
        store, database):
    # Not with every failure waiting: under a flood the inquiry would wait for hundreds
    # of other keys' rows. The database holds all of its own keys' failures.
    store.add(["a"], durable=False)
    store.add(["b"], durable=False)

    store.add(["a", "c"])

    assert database.counts(["a", "b", "c"]) == {"a": 2, "c": 1}
    assert store.unwritten(["a", "b", "c"]) == {"b": 1}


def test_a_durable_failure_waits_for_a_write_of_its_keys_on_its_way_only(
        store, database, monkeypatch):
    # The background write has taken "a" (and "b") and not committed yet: a durable
    # failure of "a" answers only once that write is in, else a crash now could lose
    # the first failure that its count relied on; one of "z" need not wait.
    store.add(["a", "b"], durable=False)
    taken, go_on = threading.Event(), threading.Event()
    real = store._writes_of

    def slow(failures):
        if "b" in failures:  # the background write's batch
            taken.set()
            assert go_on.wait(10)
        return real(failures)

    monkeypatch.setattr(store, "_writes_of", slow)
    flushing = threading.Thread(target=store.flush)
    flushing.start()
    assert taken.wait(10)

    store.add(["z"])  # returns with the write of "a" and "b" still on its way
    assert database.counts(["a", "b", "z"]) == {"z": 1}

    second_a = threading.Thread(target=store.add, args=(["a"],))
    second_a.start()
    second_a.join(0.3)
    assert second_a.is_alive()  # waits for the first failure of "a" to be in
    go_on.set()
    second_a.join(10)
    flushing.join(10)
    assert database.counts(["a", "b", "z"]) == {"a": 2, "b": 1, "z": 1}
    assert store.unwritten(["a", "b", "z"]) == {}


def test_a_durable_failure_after_a_failed_write_of_its_key_writes_that_one_too(
        store, database, monkeypatch):
    # The background write holding "a" fails (a deadlock, a locked database) while a
    # durable failure of "a" waits for it: when the durable add returns, the database
    # holds both failures of "a", not the new one alone.
    store.add(["a", "b"], durable=False)
    taken, go_on = threading.Event(), threading.Event()
    real = store._write

    def flaky(connection, writes):
        if "b" in writes.failures:  # the background write's batch
            taken.set()
            assert go_on.wait(10)
            raise RuntimeError("deadlock detected")
        real(connection, writes)

    monkeypatch.setattr(store, "_write", flaky)
    errors: list[BaseException] = []

    def flush():
        try:
            store.flush()
        except RuntimeError as exc:
            errors.append(exc)

    flushing = threading.Thread(target=flush)
    flushing.start()
    assert taken.wait(10)
    durable = threading.Thread(target=store.add, args=(["a"],))
    durable.start()
    durable.join(0.2)
    go_on.set()
    durable.join(10)
    flushing.join(10)
    assert not durable.is_alive() and len(errors) == 1
    assert database.counts(["a"]) == {"a": 2}
    assert store.unwritten(["a", "b"]) == {"b": 1}  # b waits for the next write


def test_close_writes_what_waits_and_later_failures_at_once(store, database):
    store.add(["a"], durable=False)

    store.close()
    assert database.counts(["a"]) == {"a": 1}

    store.add(["b"], durable=False)
    assert database.counts(["b"]) == {"b": 1}


def test_a_crash_loses_only_the_unwritten_failures(store, database):
    # At most one failure per key: the process stops without closing (killed).
    store.add(["a", "b"])
    store.add(["a", "c"], durable=False)

    lost = dict(store.unwritten(["a", "b", "c"]))
    crashed = store  # never flushed nor closed

    assert lost == {"a": 1, "c": 1}
    assert database.counts(["a", "b", "c"]) == {"a": 1, "b": 1}
    assert crashed.counts(["a", "b", "c"]) == {"a": 2, "b": 1, "c": 1}


def test_a_failed_write_keeps_the_failures_for_the_next_one(store, database, monkeypatch):
    store.add(["a"], durable=False)

    def broken(connection, writes):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(store, "_write", broken)
    with pytest.raises(RuntimeError):
        store.add(["b"])  # durable: the caller learns its failure was not written
    assert store.counts(["a", "b"]) == {"a": 1, "b": 1}  # still counted here

    monkeypatch.undo()
    store.flush()
    assert database.counts(["a", "b"]) == {"a": 1, "b": 1}
    assert store.counts(["a", "b"]) == {"a": 1, "b": 1}


def test_the_writer_tries_again_when_a_write_fails(core, clock, database, monkeypatch):
    store = DatabaseFailureCounts(core.db, 60, clock=clock, delay=0.01)
    real, tries = store._write, []

    def once_broken(connection, writes):
        tries.append(dict(writes.failures))
        if len(tries) == 1:
            raise RuntimeError("the database went away")
        real(connection, writes)

    monkeypatch.setattr(store, "_write", once_broken)
    try:
        store.add(["a"], durable=False)
        deadline = time.monotonic() + 10  # the retry comes a second later
        while database.counts(["a"]) != {"a": 1}:
            assert time.monotonic() < deadline, "never written"
            time.sleep(0.05)
        assert tries == [{"a": 1}, {"a": 1}]
    finally:
        store.close()


def test_concurrent_failures_are_each_written_once(core, clock, database):
    # 8 threads x 50 failures of one key (and one of their own each time), written behind
    # by a busy writer and at once past the bound: exactly 400 in the database.
    store = DatabaseFailureCounts(core.db, 60, clock=clock, delay=0.001)
    start = threading.Barrier(8)

    def hammer(n: int) -> None:
        start.wait()
        for k in range(50):
            store.add(["shared", f"own-{n}-{k}"], durable=False)
            assert store.counts(["shared"])["shared"] >= 1

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()

    assert database.counts(["shared"]) == {"shared": 400}
    owns = [f"own-{n}-{k}" for n in range(8) for k in range(50)]
    assert sum(database.counts(owns).values()) == 400
    assert store.unwritten(["shared", *owns]) == {}


def test_a_large_write_is_made_in_chunks_of_one_statement_each(store, database):
    # A write behind may carry hundreds of keys: written in chunks of WRITE_CHUNK keys,
    # then the rest by powers of two: few statements, of few sizes (each compiled once,
    # not one per batch size ever seen).
    keys = [f"key-{n}" for n in range(WRITE_CHUNK * 2 + 5)]
    for key in keys:
        store.add([key], durable=False)
    for key in keys[:3]:
        store.add([key], durable=False)  # a second failure: written now, with the first
    store.flush()

    written = database.counts(keys)
    assert sum(written.values()) == len(keys) + 3
    assert [written[key] for key in keys[:4]] == [2, 2, 2, 1]
    assert sorted(store._writes) == [1, 2, WRITE_CHUNK]  # 3 alone; 514 = 256 + 256 + 2


# --- which keys may have failures: the filter in memory (suspects) ----------------------


@pytest.fixture
def filtered(core, clock):
    """A process whose filter is refreshed only when asked."""
    return DatabaseFailureCounts(core.db, 60, clock=clock, refresh=NEVER)


def test_every_key_is_a_suspect_until_the_table_is_read(filtered, monkeypatch):
    monkeypatch.setattr(filtered, "refresh", lambda wait=True: None)  # the read never comes

    assert filtered.suspects(["a", "b"]) == ["a", "b"]


def test_the_suspects_are_the_keys_with_failures_in_the_table_or_here(filtered, database):
    database.add(["a"])
    assert filtered.suspects(["a", "b", "c"]) == ["a"]  # the first ask reads the table

    filtered.add(["b"], durable=False)  # a suspect here at once, written or not
    database.add(["c"])  # elsewhere: seen at the next refresh
    assert filtered.suspects(["a", "b", "c"]) == ["a", "b"]

    filtered.refresh()
    assert filtered.suspects(["a", "b", "c"]) == ["a", "b", "c"]


def test_a_window_that_opens_again_elsewhere_is_seen_at_the_next_refresh(
        filtered, database, clock):
    database.add(["a"])
    filtered.suspects(["a"])
    clock.now += 61  # the window has passed: the refresh forgets the key
    filtered.refresh()
    assert filtered.suspects(["a"]) == []

    database.add(["a"])  # its window starts again elsewhere
    filtered.refresh()

    assert filtered.suspects(["a"]) == ["a"]


def test_too_many_keys_make_every_key_a_suspect_until_fewer(filtered, database, clock):
    filtered.MAX_SUSPECTS = 3
    database.add(["a", "b"])
    assert filtered.suspects(["a", "x"]) == ["a"]

    database.add(["c", "d"])
    filtered.refresh()
    assert filtered.suspects(["a", "x"]) == ["a", "x"]  # a flood: read as without filter

    clock.now += 61  # the flood's window has passed
    filtered.refresh()
    assert filtered.suspects(["a", "x"]) == []


def test_a_flood_of_keys_never_makes_the_filter_forget_a_key_with_failures(
        filtered, database, clock):
    # Keys share the filter's slots (8 here for 200 keys): a key without failures may be
    # read for nothing, a key with failures is never missed, and the filter stays usable.
    filtered.FILTER_SLOTS = 8
    failing = [f"failing-{n}" for n in range(100)]
    database.add(failing[:50])
    assert filtered.suspects(failing[:50]) == failing[:50]  # the first ask reads them

    filtered.add(failing[50:], durable=False)  # here: suspects at once
    assert filtered.suspects(failing) == failing
    assert filtered._usable
    filtered.flush()

    clock.now += 62  # every window has passed: the slots expire by time, none is read
    filtered.refresh()
    assert filtered.suspects(failing) == []


# --- counters whose window has passed ---------------------------------------------------


def test_a_counter_whose_window_has_passed_starts_again_in_the_same_write(
        core, store, database, clock):
    # Its row outlives the window until the upkeep deletes it: the next failures start a
    # new window at their own count, in the write that also adds to live counters.
    store.add(["old"])
    clock.now += 30
    store.add(["live"])
    clock.now += 31  # "old"'s window has passed, "live"'s has not

    with core.db.write_engine.begin() as connection:
        store.add_in(connection, {"old": 2, "live": 1, "new": 1})

    assert database.counts(["old", "live", "new"]) == {"old": 2, "live": 2, "new": 1}
    clock.now += 59  # within the window "old" started again in, past "live"'s
    assert database.counts(["old", "live", "new"]) == {"old": 2, "new": 1}
