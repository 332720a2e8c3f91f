"""Failed-inquiry limits per requester: a sliding window kept in this process's memory."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class FailureLimiter:
    """Refuse a requester after ``max_failures`` failures within ``window`` seconds.

    Bounded: at most ``max_keys`` requesters are tracked, the least recently seen
    forgotten first, so a flood of new keys cannot exhaust memory.
    """

    def __init__(self, max_failures: int, window: float, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def blocked(self, key: str) -> bool:
        with self._lock:
            times = self._failures.get(key)
            if not times:
                return False
            self._expire(times)
            return len(times) >= self.max_failures

    def failed(self, key: str) -> None:
        with self._lock:
            times = self._failures.get(key)
            if times is None:
                times = self._failures[key] = deque()
                while len(self._failures) > self.max_keys:
                    self._failures.popitem(last=False)
            else:
                self._failures.move_to_end(key)
            self._expire(times)
            times.append(self._clock())

    def _expire(self, times: deque[float]) -> None:
        horizon = self._clock() - self.window
        while times and times[0] < horizon:
            times.popleft()
