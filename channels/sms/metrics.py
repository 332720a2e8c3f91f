"""The SMS channel's Prometheus metrics (served on the gateway's /metrics).

Binds made, what became of each outbound message, segments put on the wire (their rate
is the channel's throughput: ``rate(gateway_sms_segments_sent_total[1m])``), MOs received
and delivery receipts by status. The bind state (``gateway_sms_bound``) and the outbox
depth by status are read from the database at scrape time by
``gateway.health.OutboxCollector`` (the bind from every SMS channel's heartbeat), so a
web process reports a ``gateway sms`` running on another machine.
"""

from __future__ import annotations

from prometheus_client import Counter

BINDS = Counter("gateway_sms_binds", "Successful SMPP binds (a rise means a reconnect)")
# result: sent (every segment accepted), retry (temporary status, timeout or lost
# connection; queued again with backoff), unsent (never on the wire when the connection
# ended: queued again, due now), failed (permanent, reason in the outbox).
SUBMITS = Counter("gateway_sms_submits", "Outbound messages by result of their submit",
                  ["result"])
SEGMENTS_SENT = Counter("gateway_sms_segments_sent", "submit_sm PDUs sent to the SMSC")
# result: stored, store_failed (the SMSC is asked to redeliver).
MO_RECEIVED = Counter("gateway_sms_mo_received", "Inbound (MO) messages", ["result"])
# status: the receipt's stat (DELIVRD, UNDELIV, EXPIRED, REJECTD, ...) or "invalid".
RECEIPTS = Counter("gateway_sms_receipts", "Delivery receipts received", ["status"])

for _result in ("sent", "retry", "unsent", "failed"):
    SUBMITS.labels(result=_result)
for _result in ("stored", "store_failed"):
    MO_RECEIVED.labels(result=_result)
