"""The demo's plan: every department, agency, employee and transaction as the payloads
the real code takes, a pure function of the seed, the count and the clock."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from core.identity.national_id import national_id_with_check_digit
from core.transactions.demo.data import (
    AGENCIES,
    DEMO_MOBILE,
    DEMO_NATIONAL_ID,
    DEMO_NUMBER,
    DEPARTMENTS,
    FAMILIES,
    LOOKUP_STAGES,
    MEN,
    MOBILE_PREFIXES,
    RESIDENTS_FAMILY,
    RESIDENTS_FIRST,
    STAGES,
    WOMEN,
    DemoDepartment,
)

EVENT_PREFIX = "demo:"
# The demo spans this many days back from now.
SPAN_DAYS = 90


@dataclass(frozen=True)
class DemoTransaction:
    number: str
    stage: str
    national_id: str
    mobile: str | None
    events: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class DemoPlan:
    departments: tuple[tuple[str, dict[str, Any]], ...]
    agencies: tuple[tuple[str, dict[str, Any]], ...]
    employees: tuple[tuple[str, dict[str, Any]], ...]
    transactions: tuple[DemoTransaction, ...]

    def stages(self) -> Counter[str]:
        return Counter(txn.stage for txn in self.transactions)

    def lookups(self) -> list[DemoTransaction]:
        """The fixed first transaction and one of each LOOKUP_STAGES, with a mobile."""
        chosen = [self.transactions[0]]
        for stage in LOOKUP_STAGES:
            chosen.extend([txn for txn in self.transactions[1:]
                           if txn.stage == stage and txn.mobile][:1])
        return chosen


@dataclass
class _Applicants:
    rng: random.Random
    ids: set[str] = field(default_factory=lambda: {DEMO_NATIONAL_ID})
    mobiles: set[str] = field(default_factory=lambda: {DEMO_MOBILE})

    def national_id(self, resident: bool) -> str:
        while True:
            value = national_id_with_check_digit(
                ("2" if resident else "1") + f"{self.rng.randrange(10 ** 8):08d}")
            if value not in self.ids:
                self.ids.add(value)
                return value

    def mobile(self) -> str:
        while True:
            value = "0" + self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**7):07d}"
            if value not in self.mobiles:
                self.mobiles.add(value)
                return value

    def person(self, number: str) -> tuple[dict[str, Any], str, str | None]:
        """(applicant payload, national ID, mobile or None)."""
        rng = self.rng
        resident = rng.random() < 0.12
        if resident:
            (first, latin), family = rng.choice(RESIDENTS_FIRST), rng.choice(RESIDENTS_FAMILY)
            name = f"{first} {rng.choice(MEN)[0]} {family}"
        else:
            first, latin = rng.choice(WOMEN if rng.random() < 0.35 else MEN)
            name = f"{first} {rng.choice(MEN)[0]} {rng.choice(FAMILIES)}"
        national_id = self.national_id(resident)
        mobile = self.mobile() if rng.random() < 0.9 else None
        applicant: dict[str, Any] = {"name": name, "national_id": national_id}
        if mobile:
            applicant["mobile"] = mobile
        if rng.random() < 0.3 or not mobile:
            applicant["email"] = f"{latin}.{number[-3:]}@example.com"
        applicant["lang"] = "en" if resident and rng.random() < 0.5 else "ar"
        return applicant, national_id, mobile


def plan_demo(*, seed: int, transactions: int, now: datetime,
              default_reply_days: int = 10) -> DemoPlan:
    """The whole demo as payloads: same seed, count and clock, same plan."""
    rng = random.Random(seed)
    people = _Applicants(rng)
    departments = tuple((d.code, {
        "name_ar": d.name_ar, "name_en": d.name_en,
        "manager": {"name": d.manager, "mobile": d.manager_mobile},
        **({"reply_days": d.reply_days} if d.reply_days else {}),
    }) for d in DEPARTMENTS)
    agencies = tuple((code, {"name_ar": ar, "name_en": en}) for code, ar, en in AGENCIES)
    staff: dict[str, list[str]] = {}
    employees = []
    for index, department in enumerate(DEPARTMENTS, start=1):
        for seat in range(1, rng.randint(2, 4) + 1):
            code = f"EMP-{index}{seat:02d}"
            first = rng.choice(WOMEN if rng.random() < 0.3 else MEN)[0]
            employees.append((code, {
                "name": f"{first} {rng.choice(MEN)[0]} {rng.choice(FAMILIES)}",
                "mobile": people.mobile(), "department": department.code}))
            staff.setdefault(department.code, []).append(code)

    now = now.astimezone(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    stages = ["assigned", *_stage_mix(rng, max(transactions - 1, 0))][:transactions]
    planned = []
    mobile: str | None
    for index, stage in enumerate(stages):
        number = str(int(DEMO_NUMBER) + index)
        department = DEPARTMENTS[0] if index == 0 else rng.choice(DEPARTMENTS)
        reply_days = department.reply_days or default_reply_days
        if index == 0:
            applicant = {"name": "عبدالله محمد العتيبي", "national_id": DEMO_NATIONAL_ID,
                         "mobile": DEMO_MOBILE, "email": "abdullah.alotaibi@example.com",
                         "lang": "ar"}
            national_id, mobile = DEMO_NATIONAL_ID, DEMO_MOBILE
            subject = department.subjects[0]
        else:
            applicant, national_id, mobile = people.person(number)
            subject = rng.choice(department.subjects)
        events = _events(rng, number, stage, department, staff[department.code], subject,
                         applicant, now, reply_days)
        planned.append(DemoTransaction(number, stage, national_id, mobile, events))
    return DemoPlan(departments, agencies, tuple(employees), tuple(planned))


def _stage_mix(rng: random.Random, count: int) -> list[str]:
    """One of each stage first (so even a small demo has them all), then STAGES' mix."""
    names = list(STAGES)
    rest = max(count - len(names), 0)
    deck = [name for name, share in STAGES.items()
            for _ in range(rest * share // sum(STAGES.values()))]
    deck += rng.choices(names, list(STAGES.values()), k=rest - len(deck))
    rng.shuffle(deck)
    return (names + deck)[:count]


def _events(rng: random.Random, number: str, stage: str, department: DemoDepartment,
            employees: list[str], subject: str, applicant: dict[str, Any],
            now: datetime, reply_days: int) -> tuple[dict[str, Any], ...]:
    """The stage's events, in order, with realistic gaps, all in the past."""
    issued = stage in ("issued", "awaiting_reply", "overdue", "reply_received", "closed")
    replied = stage == "reply_received" or (stage == "closed" and rng.random() < 0.5)
    steps: list[tuple[str, float, dict[str, Any]]] = [("registered", 0.0, {})]
    if stage != "registered":
        steps.append(("referred", rng.uniform(1, 30), {"department": department.code}))
    if stage != "registered" and stage != "referred":
        steps.append(("assigned", rng.uniform(2, 72), {"employee": rng.choice(employees)}))
    if issued:
        steps.append(("issued", rng.uniform(24, 240), {
            "outgoing_number": f"9{rng.randrange(10 ** 6):06d}",
            "destination_agency": rng.choice(department.agencies),
            "reply_expected": stage in ("awaiting_reply", "overdue") or replied}))
    if replied:
        steps.append(("reply_received", rng.uniform(48, 24 * 20), {}))
    if stage == "closed":
        steps.append(("closed", rng.uniform(4, 96), {}))

    offsets = []
    total = 0.0
    for _, gap, _ in steps:
        total += gap
        offsets.append(total)
    span = SPAN_DAYS * 24 - total - 1
    if stage == "overdue":
        # Issued (the last event) more than reply_days ago, never answered.
        age = rng.uniform((reply_days + 1) * 24, min((reply_days + 35) * 24, span))
    elif stage == "awaiting_reply":
        age = rng.uniform(2, (reply_days - 1) * 24)
    else:
        recent = {"registered": 10, "referred": 20, "assigned": 40}.get(stage, SPAN_DAYS)
        age = rng.uniform(1, min(recent * 24, span))
    start = now - timedelta(hours=age + total)

    payloads = []
    for (kind, _, extra), offset in zip(steps, offsets, strict=True):
        at = (start + timedelta(hours=offset)).replace(second=0, microsecond=0)
        payload: dict[str, Any] = {
            "event_id": f"{EVENT_PREFIX}{number}:{kind}", "type": kind,
            "occurred_at": at.isoformat(), "transaction": {"number": number}, **extra}
        if kind == "registered":
            payload["transaction"].update(subject=subject, applicant=applicant)
        payloads.append(payload)
    return tuple(payloads)
