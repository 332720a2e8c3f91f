"""The 74747 short code over SMPP: the session (``smpp``) and the channel (``channel``)."""

from __future__ import annotations

from channels.sms.channel import SmsChannel, Timings
from channels.sms.smpp import ChannelUnavailable, DeliveryFailed, SmppSession

__all__ = ["ChannelUnavailable", "DeliveryFailed", "SmppSession", "SmsChannel", "Timings"]
