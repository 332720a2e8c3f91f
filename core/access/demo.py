"""The demo's staff accounts: one of each role, with a fixed password that is printed by
``gateway demo-data`` and documented as demo-only (no other path sets a password; every
real account starts with a generated one it must change).

Each has a made-up mobile from the demo's own run, ``DEMO_STAFF_MOBILES``, next to the
voice demo's citizen (0500000001): the alarms the scheduler raises while the demo runs are
queued for the right people in Arabic and show in the outbox (/staff/messages), as the
demo's other messages do. The demo's loads never message them: the messages the demo's
acts queue are expired before they commit and the alarms its clocks passed are raised
silently (``core.voice.demo``); with ``sms.enabled: false`` (the demo's configuration)
nothing leaves the outbox at all.

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
    mobile: str  # made up: one of DEMO_STAFF_MOBILES
    # One of the emirate's departments (the transactions' demo makes it): the user works
    # its cases only, the enquiries about its transactions.
    department: str | None = None


# The demo staff's made-up mobiles: a run of its own, 0500000101 to 0500000107.
DEMO_STAFF_MOBILES = tuple(f"05000001{n:02d}" for n in range(1, 8))
# The department whose coordinator the demo has (core/transactions/demo/data.py).
DEMO_DEPARTMENT = "PRIVATE-RIGHTS"

DEMO_USERS = (
    DemoUser("demo.coordinator", "منسق الأمانة", COORDINATOR, DEMO_AGENCY,
             DEMO_STAFF_MOBILES[0]),
    DemoUser("demo.specialist", "مختص الأمانة", SPECIALIST, DEMO_AGENCY,
             DEMO_STAFF_MOBILES[1]),
    DemoUser("demo.leader", "قيادي الأمانة", AGENCY_LEADER, DEMO_AGENCY,
             DEMO_STAFF_MOBILES[2]),
    DemoUser("emirate.coordinator", "منسق الإمارة", COORDINATOR, "emirate",
             DEMO_STAFF_MOBILES[3]),
    DemoUser("demo.leadership", "قيادات الإمارة", LEADERSHIP, None, DEMO_STAFF_MOBILES[4]),
    DemoUser("demo.admin", "مدير النظام", ADMIN, None, DEMO_STAFF_MOBILES[5]),
    DemoUser("rights.coordinator", "منسق إدارة الحقوق الخاصة", COORDINATOR, "emirate",
             DEMO_STAFF_MOBILES[6], DEMO_DEPARTMENT),
)


def load_demo_users(users: StaffUsers, emirate_agency: str) -> str:
    """Create the demo's accounts that are missing (their agencies must exist); the
    report: each login, role, agency and password."""
    lines = ["Staff accounts (demo only; sign in at /login; made-up mobiles "
             f"{DEMO_STAFF_MOBILES[0]} to {DEMO_STAFF_MOBILES[-1]}):"]
    for demo in DEMO_USERS:
        agency = emirate_agency if demo.agency == "emirate" else demo.agency
        try:
            users.get(demo.login)
            password = "(already there: its password unchanged)"
        except NotFound:
            try:
                users.create(demo.role, demo.login, name=demo.name, agency=agency,
                             mobile=demo.mobile, password=DEMO_PASSWORD,
                             department=demo.department)
            except NotFound as exc:
                if exc.code != "unknown_department":
                    raise
                # An installation with transactions of its own (``--if-empty`` loaded no
                # demo departments): the department's account waits for its department.
                lines.append(f"  {demo.login:<20} skipped: no department {demo.department}")
                continue
            password = DEMO_PASSWORD
        where = f"{agency}/{demo.department}" if demo.department else agency or "-"
        lines.append(f"  {demo.login:<20} {demo.role:<14} {where:<10} {password}")
    return "\n".join(lines)
