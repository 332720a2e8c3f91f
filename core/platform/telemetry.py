"""Counters the gateway exposes on /metrics (Prometheus text format)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

INQUIRIES = Counter("gateway_inquiries", "Inquiries answered", ["channel", "outcome"])
INQUIRY_SECONDS = Histogram(
    "gateway_inquiry_seconds", "Time to answer an inquiry", ["channel"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
EVENTS = Counter("gateway_events", "Lifecycle events received", ["type", "result"])
VOICE_ALARMS = Counter("gateway_voice_alarms", "Citizen's Voice alarms raised", ["level"])
