"""The 74747 short code over SMPP: the session (``smpp``, speaking ``pdus``) and the
channel (``channel``) composed of its parts."""

from __future__ import annotations

from channels.sms.channel import SmsChannel, Timings
from channels.sms.pdus import ChannelUnavailable, DeliveryFailed
from channels.sms.smpp import SmppSession

__all__ = ["ChannelUnavailable", "DeliveryFailed", "SmppSession", "SmsChannel", "Timings"]
