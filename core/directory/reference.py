"""Reference data the records system keeps up to date: departments, employees, agencies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.directory.models import Agency, Department, Employee
from core.identity.phones import optional_mobile
from core.platform.errors import Conflict, InvalidRequest, NotFound
from core.platform.validation import Model, StrictModel, validated

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"


class Manager(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    mobile: str | None = None

    @field_validator("mobile")
    @classmethod
    def _check_mobile(cls, value: str | None) -> str | None:
        return optional_mobile(value)


class DepartmentBody(StrictModel):
    name_ar: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    manager: Manager | None = None
    reply_days: int | None = Field(default=None, ge=1, le=365, strict=True)
    # How reply_days count: "calendar" or "working" days; absent: the configured default.
    reply_day_count: Literal["calendar", "working"] | None = None


class EmployeeBody(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    mobile: str | None = None
    department: str | None = Field(default=None, pattern=CODE_PATTERN)

    @field_validator("mobile")
    @classmethod
    def _check_mobile(cls, value: str | None) -> str | None:
        return optional_mobile(value)


class AgencyBody(StrictModel):
    name_ar: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)


@dataclass(frozen=True)
class Upserted:
    code: str
    created: bool


def _parse(model: type[Model], code: str, data: Any) -> Model:
    if not re.fullmatch(CODE_PATTERN, code or ""):
        raise InvalidRequest("code: letters, digits, '.', '_' or '-', at most 64",
                             code="invalid_field", field="code")
    return validated(model, data, what="body")


def _upsert(session: Session, model: type[Department | Employee | Agency], code: str,
            values: dict[str, Any]) -> Upserted:
    row = session.scalar(select(model).where(model.code == code).with_for_update(of=model))
    created = row is None
    if created:
        row = model(code=code)
        session.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create of the same code
        raise Conflict(f"{code} was created concurrently; retry", code="conflict") from exc
    return Upserted(code=code, created=created)


def upsert_department(session: Session, code: str, data: Any) -> Upserted:
    body = _parse(DepartmentBody, code, data)
    return _upsert(session, Department, code, {
        "name_ar": body.name_ar, "name_en": body.name_en,
        "manager_name": body.manager.name if body.manager else None,
        "manager_mobile": body.manager.mobile if body.manager else None,
        "reply_days": body.reply_days, "reply_day_count": body.reply_day_count,
    })


def upsert_employee(session: Session, code: str, data: Any) -> Upserted:
    body = _parse(EmployeeBody, code, data)
    department_id = None
    if body.department:
        department_id = session.scalar(
            select(Department.id).where(Department.code == body.department))
        if department_id is None:
            raise NotFound(f"department {body.department} is not known",
                           code="unknown_department", field="department")
    return _upsert(session, Employee, code, {
        "name": body.name, "mobile": body.mobile, "department_id": department_id})


def upsert_agency(session: Session, code: str, data: Any) -> Upserted:
    body = _parse(AgencyBody, code, data)
    return _upsert(session, Agency, code, {"name_ar": body.name_ar, "name_en": body.name_en})
