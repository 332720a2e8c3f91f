"""The phone line's record of calls (one row per call, its steps and outcome)."""
