"""The whole configuration: the core's sections and every component's, assembled here.

Each component declares its section next to its code; this module only gathers them
(and declares the web server's own ``gateway`` section). ``load_settings`` reads
``config.yaml`` (or ``--config PATH``, ``GATEWAY_CONFIG``) with the environment over it.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any

from pydantic import Field, field_validator

from channels.email.settings import EmailSettings
from channels.ivr.settings import IvrSettings
from channels.kiosk.settings import KioskSettings
from channels.sms.settings import SmsSettings
from core.platform.settings import ConfigError, CoreSettings, Section, load
from scheduler.settings import SchedulerSettings

__all__ = ["ConfigError", "GatewaySettings", "Settings", "load_settings"]


class GatewaySettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    secret_key: str | None = None
    # Web server processes; 0: one per core this process may run on.
    workers: int = Field(default=0, ge=0, le=256)
    threads: int = Field(default=4, ge=1, le=256)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Networks allowed to read /metrics (the operator's monitoring network). Loopback
    # only unless the operator says more: a private range by default would let every
    # request through a load balancer (whose address is private) pass as the monitoring
    # network when ``trusted_proxies`` is left at 0.
    metrics_networks: list[str] = ["127.0.0.0/8", "::1/128"]
    # Proxies in front of the gateway: the client's address is the one the N-th proxy
    # from the gateway appends to X-Forwarded-For (0: forwarded headers are deleted).
    trusted_proxies: int = Field(default=0, ge=0, le=5)
    # A staff session ends after this many minutes without a request, and this many
    # hours after sign-in whatever happens (both checked on the server).
    staff_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    staff_session_hours: int = Field(default=12, ge=1, le=24)

    @field_validator("metrics_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network)
            except ValueError as exc:
                raise ValueError(f"{network!r} is not a network such as 10.0.0.0/8") from exc
        return value


class Settings(CoreSettings):
    """Every setting the gateway knows; see config.yaml for the documented defaults."""

    gateway: GatewaySettings = GatewaySettings()
    sms: SmsSettings = SmsSettings()
    ivr: IvrSettings = IvrSettings()
    email: EmailSettings = EmailSettings()
    kiosk: KioskSettings = KioskSettings()
    scheduler: SchedulerSettings = SchedulerSettings()

    def secret_key(self) -> str:
        """The Flask secret key: configured, or generated once and kept under var/."""
        return self.gateway.secret_key or self.kept_secret("secret_key")


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Read the YAML file, apply environment overrides, validate.

    Raises ConfigError with one line per bad key, naming it as the operator writes it.
    """
    return load(Settings, path, **overrides)
