"""Who is acting: a signed-in staff user, or a user's personal token acting as them.

The roles of Citizen's Voice. ``coordinator``, ``specialist`` and ``agency_leader`` belong
to one agency; ``leadership`` sees every agency; ``admin`` manages users, categories and
calendars. What each may do to a case is decided in ``core.voice`` (its permissions), on
an ``Actor``: never on a name or a token.
"""

from __future__ import annotations

from dataclasses import dataclass

COORDINATOR = "coordinator"
SPECIALIST = "specialist"
AGENCY_LEADER = "agency_leader"
LEADERSHIP = "leadership"
ADMIN = "admin"

USER_ROLES = (COORDINATOR, SPECIALIST, AGENCY_LEADER, LEADERSHIP, ADMIN)
# The roles that belong to one agency (the account needs one); the others need none.
AGENCY_ROLES = frozenset({COORDINATOR, SPECIALIST, AGENCY_LEADER})


@dataclass(frozen=True)
class Actor:
    """A staff user as the core sees them when they act."""

    user_id: int
    login: str
    name: str
    role: str
    agency_id: int | None  # None for leadership and admin
    # A coordinator or specialist of one of the emirate's departments (the sections
    # that hold transactions): they work the emirate's cases of that department only
    # (enquiries about its transactions). None: the whole agency.
    department_id: int | None = None

    @property
    def agency_bound(self) -> bool:
        return self.role in AGENCY_ROLES
