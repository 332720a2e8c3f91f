"""FailureLimiter: a sliding window of failures per key, on a clock the test moves."""

from __future__ import annotations

import threading

import pytest

from core.platform.ratelimit import FailureLimiter


@pytest.fixture
def limiter(clock) -> FailureLimiter:
    return FailureLimiter(3, 60, clock=clock)


def fail(limiter: FailureLimiter, key: str, times: int) -> None:
    for _ in range(times):
        limiter.failed(key)


@pytest.mark.parametrize(("failures", "blocked"), [(0, False), (1, False), (2, False),
                                                    (3, True), (7, True)])
def test_a_key_is_blocked_from_the_maximum_number_of_failures(limiter, failures, blocked):
    fail(limiter, "requester", failures)

    assert limiter.blocked("requester") is blocked


def test_keys_are_counted_apart(limiter):
    fail(limiter, "mobile:+966551234567", 3)

    assert limiter.blocked("mobile:+966551234567")
    assert not limiter.blocked("mobile:+966569876543")


def test_failures_older_than_the_window_are_forgotten(limiter, clock):
    fail(limiter, "requester", 3)

    clock.now += 60
    assert limiter.blocked("requester")  # exactly one window later: still inside
    clock.now += 0.001
    assert not limiter.blocked("requester")


def test_the_window_slides_failure_by_failure(limiter, clock):
    limiter.failed("requester")        # t = 0
    clock.now += 40
    fail(limiter, "requester", 2)      # t = 40
    assert limiter.blocked("requester")

    clock.now += 21                    # t = 61: the first failure has left the window
    assert not limiter.blocked("requester")
    limiter.failed("requester")
    assert limiter.blocked("requester")

    clock.now += 40                    # t = 101: only the newest failure is left
    assert not limiter.blocked("requester")


def test_only_the_most_recently_seen_keys_are_kept(clock):
    limiter = FailureLimiter(1, 60, max_keys=2, clock=clock)
    limiter.failed("a")
    limiter.failed("b")
    limiter.failed("a")  # "a" seen again: "b" is now the oldest

    limiter.failed("c")

    assert limiter.blocked("a") and limiter.blocked("c")
    assert not limiter.blocked("b")


def test_concurrent_failures_are_all_counted(clock):
    # 8 threads x 50 failures: exactly 400, so a limit of 400 blocks and one of 401 does not.
    at_400, at_401 = FailureLimiter(400, 60, clock=clock), FailureLimiter(401, 60, clock=clock)
    start = threading.Barrier(8)

    def hammer():
        start.wait()
        for _ in range(50):
            at_400.failed("origin")
            at_401.failed("origin")

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert at_400.blocked("origin")
    assert not at_401.blocked("origin")


def test_a_flood_of_new_keys_forgets_the_keys_not_blocked_first(clock):
    # Before: the oldest key went first, so new keys washed out a refused requester.
    limiter = FailureLimiter(2, 60, max_keys=3, clock=clock)
    limiter.failed("refused")
    limiter.failed("refused")

    for n in range(10):
        limiter.failed(f"new-{n}")

    assert limiter.blocked("refused")


def test_keys_whose_failures_left_the_window_are_forgotten_as_time_passes(clock):
    # The SMS answers budget holds a key per mobile answered: a day of new senders must
    # not stay in memory for the day, only the last window's.
    limiter = FailureLimiter(20, 60, clock=clock)
    for n in range(1000):
        limiter.failed(f"+96655{n:07d}")
        clock.now += 0.1  # 100 s of senders, ten a second
    held = len(limiter)
    assert 590 <= held <= 610  # the last 60 s of them

    limiter.failed("+966550000000")  # seen again: counted afresh, at the end
    assert not limiter.blocked("+966550000001")
    clock.now += 61
    for _ in range(300):
        limiter.failed("+966569999999")
    assert len(limiter) == 1 and limiter.blocked("+966569999999")
