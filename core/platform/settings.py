"""Configuration: ``config.yaml`` plus ``GATEWAY__SECTION__KEY`` environment overrides.

The file is the default; ``--config PATH`` or ``GATEWAY_CONFIG`` selects another one.
Environment variables win over the file, so secrets never have to be written in it.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import tempfile
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO_ROOT / "config.yaml"


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key and why."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(_Section):
    url: str = "sqlite:///var/gateway.db"
    pool_size: int = Field(default=10, ge=1, le=200)
    echo: bool = False


class GatewaySettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    secret_key: str | None = None
    threads: int = Field(default=4, ge=1, le=256)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Networks allowed to read /metrics (the operator's monitoring network).
    metrics_networks: list[str] = ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12",
                                   "192.168.0.0/16"]
    # Proxies in front of the gateway whose X-Forwarded-For is believed.
    trusted_proxies: int = Field(default=0, ge=0, le=5)

    @field_validator("metrics_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network)
            except ValueError as exc:
                raise ValueError(f"{network!r} is not a network such as 10.0.0.0/8") from exc
        return value


class SmppSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=2775, ge=1, le=65535)
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    throughput_per_second: float = Field(default=50.0, gt=0)
    window: int = Field(default=10, ge=1, le=1000)


class QuietHoursSettings(_Section):
    enabled: bool = True
    start: time = time(22, 0)
    end: time = time(7, 0)
    # Staff messages (assignment, overdue, digest) are held too when set.
    staff: bool = False


class SmsSettings(_Section):
    enabled: bool = False
    short_code: str = "74747"
    # Answers one mobile gets per window at most; past it, its messages are stored and not
    # answered (an auto-responder echoing our answers back would otherwise loop forever).
    max_answers_per_sender: int = Field(default=20, ge=1)
    answers_window_seconds: int = Field(default=3600, ge=60)
    smpp: SmppSettings = SmppSettings()
    quiet_hours: QuietHoursSettings = QuietHoursSettings()


class TwilioSettings(_Section):
    auth_token: str = ""
    validate_signatures: bool = True


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class VoiceSettings(_Section):
    mode: Literal["say", "play"] = "say"
    # <Say> voices (mode "say"), and the fallback for any phrase without rendered audio.
    arabic_voice: str = "Polly.Zeina"
    arabic_language: str = "arb"
    english_voice: str = "Polly.Joanna"
    english_language: str = "en-US"
    # Offline prompts (mode "play"): espeak-ng voices pyttsx3 renders with, words per minute,
    # and where `gateway prompts render` writes the audio (relative to var_dir).
    espeak_arabic: str = "sem/ar"
    espeak_english: str = "gmw/en-us"
    rate: int = Field(default=150, ge=80, le=300)
    audio_dir: str = "ivr-prompts"


class AgentSettings(_Section):
    # The agents' line <Dial> puts callers through to (E.164); empty: no transfers.
    number: str = ""
    days: list[str] = ["sun", "mon", "tue", "wed", "thu"]
    start: time = time(8, 0)
    end: time = time(15, 0)
    ring_seconds: int = Field(default=25, ge=5, le=120)

    @field_validator("days")
    @classmethod
    def _known_days(cls, value: list[str]) -> list[str]:
        days = [day.strip().lower()[:3] for day in value]
        unknown = [day for day in days if day not in _WEEKDAYS]
        if unknown:
            raise ValueError(f"unknown day(s) {unknown}: use {', '.join(_WEEKDAYS)}")
        return days


class IvrSettings(_Section):
    enabled: bool = False
    toll_free_number: str = "8001287788"
    twilio: TwilioSettings = TwilioSettings()
    voice: VoiceSettings = VoiceSettings()
    agent: AgentSettings = AgentSettings()
    # Seconds Twilio waits for the first key of an answer before it counts as silence.
    input_timeout_seconds: int = Field(default=6, ge=2, le=30)


# What pydantic reads as a bool (so a switch that became tri-state refuses nothing that
# worked before), and "auto".
_SWITCH = {"true": True, "t": True, "yes": True, "y": True, "on": True, "1": True,
           "false": False, "f": False, "no": False, "n": False, "off": False, "0": False,
           "auto": "auto"}


def _auto_or_bool(value: object) -> object:
    """true, false or auto, as YAML or the environment spells them; one clear error else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):  # YAML's 0 and 1
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _SWITCH:
        return _SWITCH[value.strip().lower()]
    raise ValueError("should be true, false or auto")


AutoOrBool = Annotated[bool | Literal["auto"], BeforeValidator(_auto_or_bool)]


class ImapSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=993, ge=1, le=65535)
    username: str = ""
    password: str = ""
    ssl: bool = True
    # Without ssl: true upgrades with STARTTLS when the server offers it (certificate
    # verified); "auto" does so for a host on the network, not for this machine (loopback).
    starttls: AutoOrBool = "auto"
    folder: str = "INBOX"
    poll_seconds: int = Field(default=30, ge=1)
    # Where a mail that cannot be understood is moved (created when missing).
    failed_folder: str = "Unreadable"


class SmtpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=587, ge=1, le=65535)
    username: str = ""
    password: str = ""
    ssl: bool = False
    # Without ssl: true requires STARTTLS (certificate verified); "auto" requires it of a
    # host on the network, not of this machine (loopback).
    starttls: AutoOrBool = "auto"
    from_address: str = "noreply@example.gov.sa"


class EmailSettings(_Section):
    enabled: bool = False
    imap: ImapSettings = ImapSettings()
    smtp: SmtpSettings = SmtpSettings()
    # A larger mail is not read: its sender gets a polite refusal.
    max_message_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    # Replies one address may get per hour (a backstop against mail loops).
    max_replies_per_hour: int = Field(default=10, ge=1)
    # Registration and issuance notifications also by e-mail, to applicants with an address.
    notifications: bool = False
    # Log in (IMAP, SMTP) without TLS to a host that is not this machine: off, the password
    # would cross the network in clear.
    allow_plaintext_login: bool = False
    # More addresses of ours (the mailbox's aliases) that never get a reply, beside
    # smtp.from_address and the IMAP and SMTP usernames that are addresses. In the
    # environment: a JSON list.
    own_addresses: list[str] = []

    @field_validator("own_addresses", mode="before")
    @classmethod
    def _addresses(cls, value: Any) -> Any:
        if isinstance(value, list):
            for address in value:
                if not isinstance(address, str) or "@" not in address.strip().strip("@"):
                    raise ValueError(f"{address!r} is not an e-mail address")
            value = [address.strip().lower() for address in value]
        return value


class KioskSettings(_Section):
    gateway_url: str = "http://127.0.0.1:8080"
    token: str = ""
    idle_seconds: int = Field(default=60, ge=5)
    # Who this terminal is in heartbeats and on receipts; empty: the host name.
    kiosk_id: str = Field(default="", pattern=r"^([A-Za-z0-9][A-Za-z0-9._-]{0,63})?$")
    # 6-12 digits that open the maintenance screen after the hidden long press (three
    # wrong tries lock it for 1, 5, then 30 minutes); empty: never.
    technician_pin: str = ""
    # A CUPS printer name for the 80 mm receipts; empty: no receipts, unless pdf_dir is
    # set (test/demo mode: PDFs there, deleted when the screen is wiped).
    printer: str = ""
    pdf_dir: str = ""
    fullscreen: bool = True
    hide_cursor: bool = True
    large_text: bool = False
    high_contrast: bool = False
    heartbeat_seconds: int = Field(default=60, ge=5, le=3600)
    request_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    @field_validator("technician_pin")
    @classmethod
    def _long_enough_pin(cls, value: str) -> str:
        if value and not re.fullmatch(r"[0-9]{6,12}", value):
            raise ValueError("the technician PIN must be 6 to 12 digits (empty: no "
                             "technician exit)")
        return value


class SchedulerSettings(_Section):
    overdue_reply_days: int = Field(default=10, ge=1, le=365)
    overdue_scan_seconds: int = Field(default=600, ge=5)
    overdue_repeat_days: int = Field(default=3, ge=1, le=365)
    # How reply periods count where a department does not say: "calendar" or "working"
    # days (Friday, Saturday and the holidays of `gateway holidays` off).
    overdue_day_count: Literal["calendar", "working"] = "calendar"
    # Overdue messages (first and reminders) go from this local time on their day: managers
    # are staff, told at the start of the working day, not at the first scan after midnight.
    overdue_send_at: time = time(8, 0)
    # A notification still unsent this long after it was queued is expired, not sent late.
    notification_expiry_hours: float = Field(default=24.0, gt=0)
    # How often expiry and the recovery of abandoned claims run.
    maintenance_seconds: int = Field(default=60, ge=5)
    # A claim older than this belongs to a sender that died: the message is queued again.
    stale_claim_seconds: int = Field(default=300, ge=60)
    # A morning SMS to each department manager with the department's counts.
    digest_enabled: bool = False
    digest_time: time = time(8, 0)


class LocaleSettings(_Section):
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


class InquirySettings(_Section):
    # Failed inquiries one requester may make in the window before being refused.
    max_failures: int = Field(default=10, ge=1)
    failure_window_seconds: int = Field(default=900, ge=10)


class SecuritySettings(_Section):
    # Key for the national-ID hash; generated under var/ for the demo when unset.
    national_id_key: str | None = None


class Settings(BaseSettings):
    """Every setting the gateway knows; see config.yaml for the documented defaults."""

    model_config = SettingsConfigDict(
        env_prefix="GATEWAY__", env_nested_delimiter="__", extra="forbid",
        case_sensitive=False,
    )

    database: DatabaseSettings = DatabaseSettings()
    gateway: GatewaySettings = GatewaySettings()
    sms: SmsSettings = SmsSettings()
    ivr: IvrSettings = IvrSettings()
    email: EmailSettings = EmailSettings()
    kiosk: KioskSettings = KioskSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    locale: LocaleSettings = LocaleSettings()
    inquiry: InquirySettings = InquirySettings()
    security: SecuritySettings = SecuritySettings()

    # Where the generated demo secrets and the embedded database live.
    var_dir: Path = REPO_ROOT / "var"

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first, then the values read from the YAML file (passed as init kwargs).
        return (env_settings, init_settings)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.locale.timezone)

    def secret_key(self) -> str:
        """The Flask secret key: configured, or generated once and kept under var/."""
        return self.gateway.secret_key or _kept_secret(self.var_dir / "secret_key")

    def national_id_key(self) -> bytes:
        """The HMAC key for national IDs: configured, or generated once under var/."""
        value = self.security.national_id_key or _kept_secret(self.var_dir / "national_id_key")
        return value.encode()


def _kept_secret(path: Path) -> str:
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
    return value


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Read the YAML file, apply environment overrides, validate.

    Raises ConfigError with one line per bad key, naming it as the operator writes it.
    """
    chosen = Path(path or os.environ.get("GATEWAY_CONFIG") or DEFAULT_CONFIG)
    data: dict[str, Any] = {}
    if chosen.exists():
        try:
            loaded = yaml.safe_load(chosen.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{chosen}: not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{chosen}: the top level must be a mapping of sections")
        # A section with only comments under it reads as None: take it as empty.
        data = {str(key): ({} if value is None else value)
                for key, value in (loaded or {}).items()}
    elif path is not None or os.environ.get("GATEWAY_CONFIG"):
        raise ConfigError(f"configuration file {chosen} does not exist")
    _merge(data, overrides)
    _reject_unknown_sections_in_environment(chosen)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, chosen)) from exc
    settings.database.url = _resolve_sqlite_path(settings.database.url)
    return settings


def _reject_unknown_sections_in_environment(source: Path) -> None:
    # pydantic-settings reads only the variables of known sections: a misspelt section
    # (GATEWAY__SMSS__ENABLED) would be silently ignored. Keys inside a section are checked
    # by the section's model.
    prefix = "GATEWAY__"
    unknown = sorted(name for name in os.environ if name.upper().startswith(prefix)
                     and name[len(prefix):].split("__")[0].lower() not in Settings.model_fields)
    if unknown:
        lines = [f"invalid configuration ({source} and GATEWAY__* environment):"]
        lines += [f"  {name[len(prefix):].split('__')[0].lower()} ({name}): unknown key"
                  for name in unknown]
        raise ConfigError("\n".join(lines))


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _explain(exc: ValidationError, source: Path) -> str:
    lines = [f"invalid configuration ({source} and GATEWAY__* environment):"]
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"])
        env = "GATEWAY__" + "__".join(str(part).upper() for part in err["loc"])
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"  {key} ({env}): {message}")
    return "\n".join(lines)


_SQLITE_RELATIVE = re.compile(r"^sqlite(\+\w+)?:///(?!/)(.+)$")


def _resolve_sqlite_path(url: str) -> str:
    """A relative SQLite path is relative to the repository, not the current directory."""
    match = _SQLITE_RELATIVE.match(url)
    if not match or match.group(2).startswith(":memory:"):
        return url
    driver = match.group(1) or ""
    return f"sqlite{driver}:///{REPO_ROOT / match.group(2)}"
