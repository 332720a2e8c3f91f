"""The SMSC peer every SMS channel test talks to (node-smpp; `make test` installs it)."""

from __future__ import annotations

import pytest

from channels.sms.channel import SmsChannel
from tests.channels.sms.smsc_settings import sms_settings
from tests.channels.sms.test_channel import FAST
from tests.conftest import require_peer
from tests.peers.smsc_peer import SmscPeer, smsc_peer_available


@pytest.fixture
def smsc():
    """A fresh SMSC per test: ``smsc.host``/``smsc.port``, credentials ``smsc.system_id``
    and ``smsc.password``, and its control API (see tests/peers/smsc/README.md)."""
    available, _why = smsc_peer_available()
    require_peer(available, "the SMSC peer (npm smpp)")
    with SmscPeer() as peer:
        yield peer


@pytest.fixture
def make_channel(core, smsc):
    """Build (and start) an SmsChannel on the peer; every one is stopped at the end."""
    made: list[SmsChannel] = []

    def make(*, window: int = 10, throughput: float = 1000.0, timings=FAST,
             start: bool = True) -> SmsChannel:
        channel = SmsChannel(core, sms_settings(smsc, window=window, throughput=throughput),
                             timings=timings)
        made.append(channel)
        if start:
            channel.start()
        return channel

    yield make
    for channel in made:
        channel.stop()
