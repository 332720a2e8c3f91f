"""Messages in and out on every channel: the outbox (enqueue, claims, receipts, upkeep),
stored inbound messages, the retry schedule.
"""
