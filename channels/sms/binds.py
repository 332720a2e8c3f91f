"""The binds one process opens (``sms.smpp.process_binds``), sharing the outbox.

Each bind is an ``SmsChannel`` of its own: its session, window and claim slots, its
heartbeat and the account's bind slot it holds (``channels.sms.heartbeat``), so a bind
that drops or dies gives back only its own claims, and the others keep going. The binds
of one process share the short code's answers budgets (one budget per mobile, whichever
bind its messages come in on) and the delivery receipts (a receipt is matched whichever
bind it comes in on: by the message's first id in the outbox, and by the later segments'
ids this process remembers; a receipt held for a message not recorded yet is tried
again after any bind's recording).

Stated once: the binds together send at most ``throughput_per_second`` (each at most
``throughput_per_second / binds``, just under it, and only while it holds a slot; at most
``binds`` slots are held at a time, over every process and machine); MO and receipts are
accepted on any bind.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from channels.sms.channel import SmsChannel
from channels.sms.inquiry import ShortCode
from channels.sms.receipt_matching import DeliveryReceipts
from channels.sms.settings import SmsSettings
from channels.sms.timings import Timings
from core.service import Core

__all__ = ["SmsBinds"]


class SmsBinds:
    """This process's binds, started and stopped together like one channel."""

    def __init__(self, core: Core, settings: SmsSettings, *, timings: Timings | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        timings = timings or Timings()
        self.short_code = ShortCode(core)
        self.receipts = DeliveryReceipts(core, timings, clock, self._wake_all)
        self.channels = [
            SmsChannel(core, settings, timings=timings, clock=clock,
                       short_code=self.short_code, receipts=self.receipts)
            for _ in range(settings.smpp.process_binds)]

    def _wake_all(self) -> None:
        for channel in self.channels:
            channel.wake()

    @property
    def bound(self) -> bool:
        """Whether any bind is up."""
        return any(channel.bound for channel in self.channels)

    def ready(self) -> bool:
        """Every bind is up, or stands by (all the account's binds are held elsewhere)."""
        return all(channel.bound or channel.heartbeat.standing_by
                   for channel in self.channels)

    def start(self) -> None:
        started = []
        try:
            for channel in self.channels:
                channel.start()
                started.append(channel)
        except BaseException:
            self._stop(started, 15.0)
            raise

    def stop(self, timeout: float = 15.0) -> None:
        """Stop every bind at once (each waits for its answers in flight)."""
        self._stop(self.channels, timeout)

    @staticmethod
    def _stop(channels: list[SmsChannel], timeout: float) -> None:
        if len(channels) == 1:
            channels[0].stop(timeout)
            return
        threads = [threading.Thread(target=channel.stop, args=(timeout,),
                                    name="sms-bind-stop") for channel in channels]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

