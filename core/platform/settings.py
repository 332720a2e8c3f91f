"""Configuration: ``config.yaml`` plus ``GATEWAY__SECTION__KEY`` environment overrides.

Each component declares its own section next to its code (``channels/sms/settings.py``,
``scheduler/settings.py``, ...). The core's sections live here, at the bottom of the core,
so that every feature may read them: ``CoreSettings`` is what the core is given, with its
part of the shared sections (``SmsBasics``: the short code and the quiet hours the outbox
keeps), which the components extend. ``gateway/settings.py`` assembles the whole, and
``load`` reads it through pydantic-settings: the environment first, then the values the
caller passes, then the YAML file (pydantic-settings' ``YamlConfigSettingsSource``).

The file is the default; ``--config PATH`` or ``GATEWAY_CONFIG`` selects another one.
Environment variables win over the file, so secrets never have to be written in it.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from contextvars import ContextVar
from datetime import time
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO_ROOT / "config.yaml"
ENV_PREFIX = "GATEWAY__"


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key and why."""


class Section(BaseModel):
    """One section of ``config.yaml``: a misspelt key is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


_SQLITE_RELATIVE = re.compile(r"^sqlite(\+\w+)?:///(?!/)(.+)$")


def _resolve_sqlite_path(url: str) -> str:
    """A relative SQLite path is relative to the repository, not the current directory."""
    match = _SQLITE_RELATIVE.match(url)
    if not match or match.group(2).startswith(":memory:"):
        return url
    driver = match.group(1) or ""
    return f"sqlite{driver}:///{REPO_ROOT / match.group(2)}"


class DatabaseSettings(Section):
    # Validated also when defaulted: a relative SQLite path is always beside the code.
    url: str = Field(default="sqlite:///var/gateway.db", validate_default=True)
    pool_size: int = Field(default=10, ge=1, le=200)
    echo: bool = False
    # A streaming replica of ``url`` (PostgreSQL) for inquiries and dashboards' pages;
    # used while it is at most ``read_max_lag_seconds`` behind (core/platform/replica.py).
    read_url: str | None = None
    read_max_lag_seconds: float = Field(default=2.0, gt=0, le=60)
    # What stands between the gateway and PostgreSQL: "pgbouncer" (transaction pooling)
    # turns psycopg's server-side prepared statements off (core/platform/db.py).
    pooler: Literal["none", "pgbouncer"] = "none"

    @field_validator("url")
    @classmethod
    def _sqlite_beside_the_code(cls, value: str) -> str:
        return _resolve_sqlite_path(value)

    @field_validator("read_url")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None  # GATEWAY__DATABASE__READ_URL= unsets it

    @model_validator(mode="after")
    def _replica_and_pooler_need_postgresql(self) -> DatabaseSettings:
        """Refused, not ignored: an operator who names a replica or a pooler expects the
        load to move off the primary, and SQLite has neither."""
        if not self.url.startswith("postgresql"):
            if self.read_url:
                raise ValueError("database.read_url names a read replica, which needs "
                                 "PostgreSQL: database.url is not a postgresql URL "
                                 "(remove read_url, or move to PostgreSQL)")
            if self.pooler != "none":
                raise ValueError(f"database.pooler: {self.pooler} pools PostgreSQL "
                                 "connections: database.url is not a postgresql URL")
        if self.read_url is not None and not self.read_url.startswith("postgresql"):
            raise ValueError("database.read_url must be a postgresql URL (a streaming "
                             "replica of database.url)")
        return self


class LocaleSettings(Section):
    default_language: Literal["ar", "en"] = "ar"
    timezone: str = "Asia/Riyadh"
    phone_region: str = "SA"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class SecuritySettings(Section):
    # Key for the national-ID hash; generated under var/ for the demo when unset.
    national_id_key: str | None = None


class FileSettings(BaseSettings):
    """A settings model read from the environment, then the caller's values, then the YAML
    file ``load`` names; sections are ``Section`` models."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid",
        case_sensitive=False,
    )

    # Where the generated demo secrets and the embedded database live.
    var_dir: Path = REPO_ROOT / "var"

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: tuple[PydanticBaseSettingsSource, ...] = (env_settings, init_settings)
        path = _YAML_FILE.get()
        if path is not None:
            sources += (_YamlFile(settings_cls, yaml_file=path),)
        return sources

    def kept_secret(self, name: str) -> str:
        """A secret generated once and kept under ``var_dir`` (for when none is configured)."""
        return _kept_secret(self.var_dir / name)


class QuietHoursSettings(Section):
    enabled: bool = True
    start: time = time(22, 0)
    end: time = time(7, 0)
    # Staff messages (assignment, overdue, digest) are held too when set.
    staff: bool = False


class SmsBasics(Section):
    """What the core reads of the ``sms`` section: the short code its texts name, and the
    quiet hours the outbox holds notifications in (the channel's own keys extend it)."""

    short_code: str = "74747"
    quiet_hours: QuietHoursSettings = QuietHoursSettings()


class EmailBasics(Section):
    """What the core reads of the ``email`` section: whether notifications also go by mail."""

    enabled: bool = False
    # Registration and issuance notifications also by e-mail, to applicants with an address.
    notifications: bool = False


class InquirySettings(Section):
    # Failed inquiries one origin, or one credential or number from one origin, may make
    # in the window before being refused (core/transactions/limits.py).
    max_failures: int = Field(default=10, ge=1)
    failure_window_seconds: int = Field(default=900, ge=10)


class SchedulerBasics(Section):
    """What the core reads of the ``scheduler`` section: the overdue rule, and when a claim
    is abandoned (the scheduler adds its timers)."""

    overdue_reply_days: int = Field(default=10, ge=1, le=365)
    overdue_repeat_days: int = Field(default=3, ge=1, le=365)
    # How reply periods count where a department does not say: "calendar" or "working"
    # days (Friday, Saturday and the holidays of `gateway holidays` off).
    overdue_day_count: Literal["calendar", "working"] = "calendar"
    # Overdue messages (first and reminders) go from this local time on their day: managers
    # are staff, told at the start of the working day, not at the first scan after midnight.
    overdue_send_at: time = time(8, 0)
    # A claim older than this belongs to a sender that died: the message is queued again.
    stale_claim_seconds: int = Field(default=300, ge=60)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday()'s order


class VoiceDigestSettings(Section):
    """The leaders' weekly digest (core/dashboards/digest.py): on ``weekday`` at or after
    ``at`` local time, an e-mail and a one-line SMS to each leader with the week's figures."""

    enabled: bool = False
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "sun"
    at: time = time(8, 0)


class VoiceSettings(Section):
    """Citizen's Voice: complaints, suggestions and enquiries (core/voice/)."""

    enabled: bool = True
    # Working days after the answer in which a citizen may reopen a case.
    reopen_days: int = Field(default=10, ge=0, le=365)
    # The agency that is the emirate itself: it routes cases that came without an agency
    # or were sent back, and receives complaints about an agency's own staff.
    emirate_agency: str = "EMIRATE"
    # The emirate's default targets, where no agency or category policy says otherwise:
    # working days ("d") or working hours ("h").
    acknowledge: str = Field(default="1d", pattern=r"^[1-9][0-9]{0,3}[dh]$")
    answer: str = Field(default="10d", pattern=r"^[1-9][0-9]{0,3}[dh]$")
    # The warning goes at this share of the answer target, the leadership alarm this many
    # working days after the breach.
    warning_percent: int = Field(default=75, ge=1, le=99)
    leadership_after_days: int = Field(default=3, ge=1, le=365)
    # Filing limits, counted where every process sees them (core/voice/limits.py): cases
    # one citizen (a mobile, an address) may file in a day, and cases from one origin (an
    # address or its IPv6 /64, a caller, a mail domain) in an hour. A kiosk or a member of
    # staff filing for citizens counts only against the citizen. A mail domain (origin
    # "@domain") has an allowance of its own: one webmail serves a whole city.
    max_cases_per_citizen: int = Field(default=5, ge=1, le=10_000)
    max_cases_per_origin: int = Field(default=20, ge=1, le=100_000)
    max_cases_per_mail_domain: int = Field(default=500, ge=1, le=1_000_000)
    # The dashboards' league ranks an agency only with at least this many answered cases
    # in the period (a median of three cases says little).
    dashboard_min_cases: int = Field(default=20, ge=1, le=100_000)
    # The jurisdiction_id Open311 clients may send (the endpoint serves one); any other
    # is refused. Clients that send none are served as well.
    open311_jurisdiction: str = Field(default="emirate", min_length=1, max_length=64)
    # The leaders' optional weekly digest by e-mail and SMS.
    digest: VoiceDigestSettings = VoiceDigestSettings()

    @model_validator(mode="after")
    def _acknowledge_within_answer(self) -> VoiceSettings:
        """The rule of every policy (core.voice.deadlines.check_order): acknowledge no
        longer than answer; in the same unit at most as many, in hours if answer is."""
        ack_unit, ans_unit = self.acknowledge[-1], self.answer[-1]
        if ack_unit == ans_unit and int(self.acknowledge[:-1]) > int(self.answer[:-1]) \
                or ack_unit == "d" and ans_unit == "h":
            raise ValueError(f"acknowledge ({self.acknowledge}) must not be longer than "
                             f"answer ({self.answer}): in the same unit at most the "
                             "answer's amount, and in hours if the answer is in hours")
        return self


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
_WINDOW = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]|24):([0-5][0-9])$")


def parse_windows(texts: list[str]) -> list[tuple[int, int]]:
    """Working windows ("07:30-14:30", "24:00" ends the day) as (start, end) minutes of
    the day, in order; ValueError saying which one is wrong. Windows may touch, never
    overlap. Shared by ``calendar.working_hours`` and the calendar's date-range
    overrides (core.calendar.overrides)."""
    windows = []
    for text in texts:
        match = _WINDOW.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not a window such as 07:30-14:30")
        start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
        start, end = start_h * 60 + start_m, end_h * 60 + end_m
        if end > 24 * 60 or end <= start:
            raise ValueError(f"{text!r} ends before it starts")
        windows.append((start, end))
    windows.sort()
    for (_, end), (start, _) in zip(windows, windows[1:], strict=False):
        if start < end:
            raise ValueError(f"{texts!r}: the windows overlap")
    return windows


class CalendarSettings(Section):
    """The working calendar's defaults (core/calendar/): the weekend and the working
    windows of each weekday, local time. Holidays are data (`gateway holidays`), and so
    are date-range overrides such as Ramadan hours (`gateway calendar overrides`).

    The weekend given here applies from 2013-06-28, the day Saudi Arabia's moved from
    Thursday–Friday to Friday–Saturday; before it the calendar keeps Thursday–Friday
    (core.calendar.definition)."""

    weekend: list[Literal["sun", "mon", "tue", "wed", "thu", "fri", "sat"]] = ["fri", "sat"]
    working_hours: dict[str, list[str]] = Field(default_factory=lambda: {
        day: ["07:30-14:30"] for day in ("sun", "mon", "tue", "wed", "thu")})

    @field_validator("working_hours")
    @classmethod
    def _windows(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, texts in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"{day!r} is not a weekday (sun, mon, tue, wed, thu, fri, "
                                 "sat)")
            try:
                parse_windows(texts)
            except ValueError as exc:
                raise ValueError(f"{day}: {exc}") from None
        if not any(value.values()):
            raise ValueError("no working hours on any day")
        return value

    @model_validator(mode="after")
    def _weekend_is_off(self) -> CalendarSettings:
        both = [day for day in self.weekend if self.working_hours.get(day)]
        if both:
            raise ValueError(f"calendar.working_hours gives hours to {', '.join(both)}, "
                             "which calendar.weekend makes a day off")
        if len(set(self.weekend)) == len(WEEKDAYS):
            raise ValueError("calendar.weekend leaves no working day")
        return self


class CoreSettings(FileSettings):
    """What the core reads: its own sections, and its part of the channels' and the
    scheduler's (``SmsBasics``, ``EmailBasics``, ``SchedulerBasics``), which those
    components extend with their own keys under the same section names. The gateway
    assembles the whole (``gateway.settings.Settings``) and hands it to the core, which
    reads the sections it knows directly: nothing is copied field by field."""

    database: DatabaseSettings = DatabaseSettings()
    locale: LocaleSettings = LocaleSettings()
    inquiry: InquirySettings = InquirySettings()
    security: SecuritySettings = SecuritySettings()
    sms: SmsBasics = SmsBasics()
    email: EmailBasics = EmailBasics()
    scheduler: SchedulerBasics = SchedulerBasics()
    voice: VoiceSettings = VoiceSettings()
    calendar: CalendarSettings = CalendarSettings()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.locale.timezone)  # zoneinfo keeps one instance per zone

    def national_id_key(self) -> bytes:
        """The HMAC key national IDs are hashed with: configured, or generated once under
        var/ (read once per process)."""
        return (self.security.national_id_key or self.kept_secret("national_id_key")).encode()

    @property
    def email_notifications(self) -> bool:
        """Registration and issuance notifications also go by e-mail."""
        return self.email.enabled and self.email.notifications


Loaded = TypeVar("Loaded", bound=FileSettings)

# The YAML file ``load`` is reading (pydantic-settings builds its sources per model).
_YAML_FILE: ContextVar[Path | None] = ContextVar("yaml_file", default=None)


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _YamlFile(YamlConfigSettingsSource):
    """``config.yaml`` through pydantic-settings' own YAML source, with our errors: not
    YAML, not a mapping of sections; a section with only comments under it is empty."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        # As pydantic-settings reads it (UTF-8, safe), with libyaml's parser when PyYAML
        # has it: the pure-Python one takes ~40 ms over config.yaml, every command's start.
        try:
            with open(file_path, encoding="utf-8") as file:
                loaded = yaml.load(file, Loader=_SAFE_LOADER) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{file_path}: not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{file_path}: the top level must be a mapping of sections")
        return {str(key): ({} if value is None else value) for key, value in loaded.items()}


def load(model: type[Loaded], path: str | os.PathLike[str] | None = None,
         **overrides: Any) -> Loaded:
    """Read the YAML file, apply the environment over it, validate as ``model``.

    Raises ConfigError with one line per bad key, naming it as the operator writes it.
    """
    chosen = Path(path or os.environ.get("GATEWAY_CONFIG") or DEFAULT_CONFIG)
    if not chosen.exists() and (path is not None or os.environ.get("GATEWAY_CONFIG")):
        raise ConfigError(f"configuration file {chosen} does not exist")
    _reject_unknown_sections_in_environment(model, chosen)
    token = _YAML_FILE.set(chosen if chosen.exists() else None)
    try:
        settings = model(**overrides)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, chosen)) from exc
    finally:
        _YAML_FILE.reset(token)
    return settings


# Kept secrets as read, by path: read once per process, not on every inquiry.
_KEPT: dict[Path, str] = {}


def _kept_secret(path: Path) -> str:
    if path in _KEPT:
        return _KEPT[path]
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole to a private temporary file, then linked into place: a process
        # starting at the same moment never reads a half-written (empty) file, and the
        # link fails for all but one of them, so they all agree on one key.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32) + "\n")
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    value = path.read_text().strip()
    if not value:
        raise ConfigError(f"{path} is empty: restore the key it held (or delete the file to "
                          "generate a new one)")
    _KEPT[path] = value
    return value


def _reject_unknown_sections_in_environment(model: type[FileSettings], source: Path) -> None:
    # pydantic-settings reads only the variables of known sections: a misspelt section
    # (GATEWAY__SMSS__ENABLED) would be silently ignored. Keys inside a section are checked
    # by the section's model.
    unknown = sorted(name for name in os.environ if name.upper().startswith(ENV_PREFIX)
                     and name[len(ENV_PREFIX):].split("__")[0].lower() not in model.model_fields)
    if unknown:
        lines = [f"invalid configuration ({source} and GATEWAY__* environment):"]
        lines += [f"  {name[len(ENV_PREFIX):].split('__')[0].lower()} ({name}): unknown key"
                  for name in unknown]
        raise ConfigError("\n".join(lines))


def _explain(exc: ValidationError, source: Path) -> str:
    lines = [f"invalid configuration ({source} and GATEWAY__* environment):"]
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"])
        env = ENV_PREFIX + "__".join(str(part).upper() for part in err["loc"])
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"  {key} ({env}): {message}")
    return "\n".join(lines)
