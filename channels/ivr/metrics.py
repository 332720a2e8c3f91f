"""The IVR's Prometheus metrics (served on the gateway's /metrics)."""

from __future__ import annotations

from prometheus_client import Counter

CALLS_STARTED = Counter("gateway_ivr_calls_started", "Calls answered by the IVR",
                        ["channel"])
# outcome: status, not_found, transferred, agent_busy, rate_limited, gave_up, ended
# (chose to end before any answer), hung_up (the caller hung up mid-menu).
CALLS_ENDED = Counter("gateway_ivr_calls_ended", "Calls ended, by outcome",
                      ["channel", "outcome"])
# Webhooks refused for a missing or wrong X-Twilio-Signature.
REJECTED = Counter("gateway_ivr_rejected_webhooks", "IVR webhooks refused (bad signature)")
# Webhooks that failed on our side (the caller heard an apology, not Twilio's error).
FAULTS = Counter("gateway_ivr_webhook_faults", "IVR webhooks that failed on the gateway's "
                 "side and were answered with an apology")
