"""The demo's staff accounts: one of each role, with a fixed password that is printed by
``gateway demo-data`` and documented as demo-only (no other path sets a password; every
real account starts with a generated one it must change).

Idempotent: an account already there is left as it is (its password too).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.access.actors import ADMIN, AGENCY_LEADER, COORDINATOR, LEADERSHIP, SPECIALIST
from core.access.users import StaffUsers
from core.platform.errors import NotFound

# The demo's agency for the agency roles: the regional municipality (a complaint's
# usual address). The emirate's coordinator belongs to ``voice.emirate_agency``.
DEMO_AGENCY = "AMANA"
DEMO_PASSWORD = "demo-only-password"  # the demo's only: printed and documented as such


@dataclass(frozen=True)
class DemoUser:
    login: str
    name: str
    role: str
    agency: str | None  # "emirate": voice.emirate_agency


DEMO_USERS = (
    DemoUser("demo.coordinator", "منسق الأمانة", COORDINATOR, DEMO_AGENCY),
    DemoUser("demo.specialist", "مختص الأمانة", SPECIALIST, DEMO_AGENCY),
    DemoUser("demo.leader", "قيادي الأمانة", AGENCY_LEADER, DEMO_AGENCY),
    DemoUser("emirate.coordinator", "منسق الإمارة", COORDINATOR, "emirate"),
    DemoUser("demo.leadership", "قيادات الإمارة", LEADERSHIP, None),
    DemoUser("demo.admin", "مدير النظام", ADMIN, None),
)


def load_demo_users(users: StaffUsers, emirate_agency: str) -> str:
    """Create the demo's accounts that are missing (their agencies must exist); the
    report: each login, role, agency and password."""
    lines = ["Staff accounts (demo only; sign in at /login):"]
    for demo in DEMO_USERS:
        agency = emirate_agency if demo.agency == "emirate" else demo.agency
        try:
            users.get(demo.login)
            password = "(already there: its password unchanged)"
        except NotFound:
            users.create(demo.role, demo.login, name=demo.name, agency=agency,
                         password=DEMO_PASSWORD)
            password = DEMO_PASSWORD
        lines.append(f"  {demo.login:<20} {demo.role:<14} {agency or '-':<10} {password}")
    return "\n".join(lines)
