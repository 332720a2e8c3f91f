"""The kiosk fleet as the gateway sees it: each terminal's heartbeat and state."""
