"""Demo data: departments, agencies, employees and transactions in every stage.

Everything goes through the real code: reference data through the upserts, transactions
as lifecycle event payloads checked by ``parse_event`` and applied by
``lifecycle.apply_event``. The plan is a pure function of the seed, the count and the
clock, so one seed always gives the same demo. The first transaction is fixed
(``DEMO_NUMBER``, ``DEMO_NATIONAL_ID``, ``DEMO_MOBILE``) so the README can name it.

The outbox rows the demo's events cause are marked expired before they are committed,
and its transactions awaiting a reply get a stopped overdue clock (``overdue.silence``):
the demo's made-up numbers, managers' included, are never messaged.

The parts: ``data`` (the made-up world), ``planning`` (``plan_demo``) and ``loading``
(``load_demo`` and its report).
"""

from core.transactions.demo.data import (
    AGENCIES,
    DEMO_MOBILE,
    DEMO_NATIONAL_ID,
    DEMO_NUMBER,
    DEPARTMENTS,
    LOOKUP_STAGES,
    STAGE_LABELS,
    STAGES,
    STATUS_OF_STAGE,
    DemoDepartment,
)
from core.transactions.demo.loading import BATCH, NOT_SENT, DemoTarget, load_demo
from core.transactions.demo.planning import (
    EVENT_PREFIX,
    SPAN_DAYS,
    DemoPlan,
    DemoTransaction,
    plan_demo,
)

__all__ = [
    "AGENCIES",
    "BATCH",
    "DEMO_MOBILE",
    "DEMO_NATIONAL_ID",
    "DEMO_NUMBER",
    "DEPARTMENTS",
    "EVENT_PREFIX",
    "LOOKUP_STAGES",
    "NOT_SENT",
    "SPAN_DAYS",
    "STAGES",
    "STAGE_LABELS",
    "STATUS_OF_STAGE",
    "DemoDepartment",
    "DemoPlan",
    "DemoTarget",
    "DemoTransaction",
    "load_demo",
    "plan_demo",
]
