"""Scheduled work around the core: notification dispatch and the overdue scan."""
