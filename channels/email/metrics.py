"""The e-mail channel's Prometheus metrics (served on the gateway's /metrics).

What became of each mail read from the mailbox, and of each reply handed to the SMTP
server. Outbox depth by status is read from the database at scrape time by
``gateway.health.OutboxCollector``, so it is not repeated here.
"""

from __future__ import annotations

from prometheus_client import Counter

# result: answered (reply queued), ignored (a loop rule or the rate limit), duplicate
# (seen before), moved_aside (could not be understood), marked_unreadable (could not be
# understood nor moved aside: marked read and $GatewayUnreadable where it is).
MAILS = Counter("gateway_email_mails", "Mails read from the mailbox by outcome", ["result"])
# result: sent, retry (temporary failure; queued again with backoff), failed (permanent).
REPLIES = Counter("gateway_email_replies", "Outbound e-mails by result of the SMTP send",
                  ["result"])
POLLS = Counter("gateway_email_polls", "Mailbox polls by result", ["result"])

for _result in ("answered", "ignored", "duplicate", "moved_aside",
                "marked_unreadable"):
    MAILS.labels(result=_result)
for _result in ("sent", "retry", "failed"):
    REPLIES.labels(result=_result)
for _result in ("ok", "held_by_other", "unavailable"):
    POLLS.labels(result=_result)
