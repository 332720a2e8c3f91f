"""Reference data the records system keeps up to date: departments, employees, agencies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidRequest, NotFound
from core.identity import InvalidMobile, normalize_mobile
from core.models import Agency, Department, Employee

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL cannot store text with NUL characters.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


def _mobile(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    try:
        return normalize_mobile(value)
    except InvalidMobile as exc:
        raise ValueError(str(exc)) from exc


class Manager(_Strict):
    name: str = Field(min_length=1, max_length=200)
    mobile: str | None = None

    @field_validator("mobile")
    @classmethod
    def _check_mobile(cls, value: str | None) -> str | None:
        return _mobile(value)


class DepartmentBody(_Strict):
    name_ar: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    manager: Manager | None = None
    reply_days: int | None = Field(default=None, ge=1, le=365, strict=True)


class EmployeeBody(_Strict):
    name: str = Field(min_length=1, max_length=200)
    mobile: str | None = None
    department: str | None = Field(default=None, pattern=CODE_PATTERN)

    @field_validator("mobile")
    @classmethod
    def _check_mobile(cls, value: str | None) -> str | None:
        return _mobile(value)


class AgencyBody(_Strict):
    name_ar: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)


@dataclass(frozen=True)
class Upserted:
    code: str
    created: bool


def _parse(model: type[BaseModel], code: str, data: Any) -> BaseModel:
    if not re.fullmatch(CODE_PATTERN, code or ""):
        raise InvalidRequest("code: letters, digits, '.', '_' or '-', at most 64",
                             code="invalid_field", field="code")
    if not isinstance(data, dict):
        raise InvalidRequest("the body must be a JSON object", code="malformed")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(part) for part in err["loc"]) or "body"
        reason = "is not a known field" if err["type"] == "extra_forbidden" else err["msg"]
        raise InvalidRequest(f"{field}: {reason}", code="invalid_field", field=field) from exc


def _upsert(session: Session, model, code: str, values: dict[str, Any]) -> Upserted:
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
        "reply_days": body.reply_days,
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
