"""What the one who filed a case, or a citizen acting on it, is told of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Filed:
    """What the one who filed a case is told (and what a citizen may know of it)."""

    tracking: str
    type: str
    state: str
    agency: str
    acknowledge_due: datetime | None
    answer_due: datetime | None
    # Filed before from the same channel message (``source_key``): nothing new was filed.
    replayed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"tracking": self.tracking, "type": self.type, "state": self.state,
                "agency": self.agency,
                "acknowledge_due": _iso(self.acknowledge_due),
                "answer_due": _iso(self.answer_due)}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
