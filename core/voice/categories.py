"""Categories per agency and case type, and the deadline policies written with them.

A category belongs to one agency and applies to some case types ("road works" to
complaints and suggestions). Its targets ("1d" to acknowledge, "10d" to answer: working
days ``d`` or working hours ``h``) are a ``DeadlinePolicy`` for (agency, category); an
agency's own defaults are a policy for (agency, no category), optionally per case type.
Policies are never edited: a new target supersedes the current row, so every case keeps
naming the policy it was timed with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.directory.models import Agency
from core.identity.digits import normalize_digits
from core.platform.errors import Conflict, InvalidRequest, NotFound
from core.platform.validation import StrictModel, validated
from core.voice import deadlines
from core.voice.models import CASE_TYPES, DeadlinePolicy, VoiceCategory

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
TARGET_PATTERN = re.compile(r"[1-9][0-9]{0,3}[dh]")

CaseType = Literal["complaint", "suggestion", "enquiry"]


def _target(value: str | None) -> str | None:
    """A target as typed ("١٠d", " 10D ") in its stored form ("10d"), or ValueError."""
    if value is None:
        return None
    clean = normalize_digits(value).strip().lower()
    if not TARGET_PATTERN.fullmatch(clean):
        raise ValueError("a number of working days or hours, e.g. \"10d\" or \"4h\"")
    return clean


class Targets(StrictModel):
    """Both targets or neither: a policy always says both."""

    acknowledge: str | None = None
    answer: str | None = None

    @field_validator("acknowledge", "answer")
    @classmethod
    def _check_target(cls, value: str | None) -> str | None:
        return _target(value)

    @model_validator(mode="after")
    def _both_or_neither(self) -> Targets:
        if (self.acknowledge is None) != (self.answer is None):
            raise ValueError("acknowledge and answer go together")
        return self


class CategoryBody(Targets):
    agency: str = Field(pattern=CODE_PATTERN)
    name_ar: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    types: list[CaseType] = Field(min_length=1, max_length=len(CASE_TYPES))
    active: bool = Field(default=True, strict=True)

    @field_validator("types")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each type once")
        return value


class PolicyBody(Targets):
    # A default for one case type only; absent: for every type.
    type: CaseType | None = None

    @model_validator(mode="after")
    def _required(self) -> PolicyBody:
        if self.acknowledge is None:
            raise ValueError("acknowledge and answer are required")
        return self


@dataclass(frozen=True)
class CategoryUpserted:
    code: str
    created: bool
    # The policy the targets were written as (None: no targets given, or unchanged).
    policy_id: int | None


@dataclass(frozen=True)
class PolicyView:
    """A current policy, as the API shows it."""

    id: int
    agency: str
    case_type: str | None
    acknowledge: str
    answer: str
    created_at: datetime


def _code(code: str) -> str:
    if not re.fullmatch(CODE_PATTERN, code or ""):
        raise InvalidRequest("code: letters, digits, '.', '_' or '-', at most 64",
                             code="invalid_field", field="code")
    return code


def agency_by_code(session: Session, code: str, *, field: str = "agency") -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise NotFound(f"agency {code} is not known", code="unknown_agency", field=field)
    return agency


def upsert_category(session: Session, code: str, data: Any, now: datetime) -> CategoryUpserted:
    """Create or update a category; its targets, when given, become the (agency, category)
    policy, superseding the current one if they differ."""
    body = validated(CategoryBody, data, what="body")
    agency = agency_by_code(session, body.agency)
    row = session.scalar(select(VoiceCategory).where(VoiceCategory.code == _code(code))
                         .with_for_update())
    created = row is None
    if row is None:
        row = VoiceCategory(code=code, agency_id=agency.id)
        session.add(row)
    elif row.agency_id != agency.id:
        # Cases already name it with their agency's policies: moving it would change them.
        raise Conflict(f"category {code} belongs to another agency; make a new one",
                       code="category_agency", field="agency")
    row.name_ar, row.name_en = body.name_ar, body.name_en
    row.types, row.active = list(body.types), body.active
    session.flush()
    policy_id = None
    if body.acknowledge is not None and body.answer is not None:
        policy_id = _supersede(session, agency.id, row.id, None, body.acknowledge,
                               body.answer, now)
    return CategoryUpserted(code, created, policy_id)


def set_agency_policy(session: Session, agency_code: str, data: Any,
                      now: datetime) -> PolicyView:
    """An agency's default targets (for every case type, or one), superseding the current
    ones: what applies to its cases without a category policy of their own."""
    body = validated(PolicyBody, data, what="body")
    agency = agency_by_code(session, _code(agency_code), field="code")
    assert body.acknowledge is not None and body.answer is not None
    _supersede(session, agency.id, None, body.type, body.acknowledge, body.answer, now)
    row = _current(session, agency.id, None, body.type)
    assert row is not None
    return _view(row, agency.code)


def agency_policies(session: Session, agency_code: str) -> list[PolicyView]:
    """The agency's current default policies (not its categories')."""
    agency = agency_by_code(session, _code(agency_code), field="code")
    rows = session.scalars(select(DeadlinePolicy).where(
        DeadlinePolicy.agency_id == agency.id, DeadlinePolicy.category_id.is_(None),
        DeadlinePolicy.superseded_at.is_(None)).order_by(DeadlinePolicy.id)).all()
    return [_view(row, agency.code) for row in rows]


def _current(session: Session, agency_id: int, category_id: int | None,
             case_type: str | None) -> DeadlinePolicy | None:
    return session.scalar(select(DeadlinePolicy).where(
        DeadlinePolicy.agency_id == agency_id,
        DeadlinePolicy.category_id.is_(None) if category_id is None
        else DeadlinePolicy.category_id == category_id,
        DeadlinePolicy.case_type.is_(None) if case_type is None
        else DeadlinePolicy.case_type == case_type,
        DeadlinePolicy.superseded_at.is_(None)).with_for_update())


def _supersede(session: Session, agency_id: int, category_id: int | None,
               case_type: str | None, acknowledge: str, answer: str,
               now: datetime) -> int | None:
    """Write the targets as the current policy of this scope (``deadlines.set_policy``);
    the new row's id, or None when the current one already says the same."""
    current = _current(session, agency_id, category_id, case_type)
    if current is not None \
            and _text(current.acknowledge_value, current.acknowledge_unit) == acknowledge \
            and _text(current.answer_value, current.answer_unit) == answer:
        return None
    return deadlines.set_policy(session, agency_id, category_id, case_type, acknowledge,
                                answer, now).id


def _text(value: int, unit: str) -> str:
    return f"{value}{unit}"


def _view(row: DeadlinePolicy, agency_code: str) -> PolicyView:
    return PolicyView(row.id, agency_code, row.case_type,
                      _text(row.acknowledge_value, row.acknowledge_unit),
                      _text(row.answer_value, row.answer_unit), row.created_at)
