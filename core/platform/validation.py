"""Request bodies checked with pydantic, errors told as the core's InvalidRequest."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from core.platform.errors import InvalidRequest

Model = TypeVar("Model", bound=BaseModel)


class StrictModel(BaseModel):
    """No unknown fields, surrounding spaces stripped, no NUL characters."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL cannot store (or even compare) text with NUL characters.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


def validated(model: type[Model], data: Any, *, what: str) -> Model:
    """``data`` as ``model``, or InvalidRequest naming the first field at fault."""
    if not isinstance(data, dict):
        raise InvalidRequest(f"the {what} must be a JSON object", code="malformed")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(part) for part in err["loc"]) or what
        reason = "is not a known field" if err["type"] == "extra_forbidden" else err["msg"]
        raise InvalidRequest(f"{field}: {reason}", code="invalid_field", field=field) from exc
