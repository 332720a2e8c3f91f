"""The SMSC peer every SMS channel test talks to (node-smpp; `make test` installs it)."""

from __future__ import annotations

import pytest

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
