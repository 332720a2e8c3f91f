"""What the operator's probes and the scheduler's chores read and do: the database's
health, the heartbeats (leases) of the running components, the schema's revision, and
the periodic upkeep of the outbox and the overdue follow-ups."""
