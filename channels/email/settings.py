"""The ``email`` section: the mailbox citizens write to and the server replies leave by.

Extends the core's part of the section (``EmailBasics``: on/off, notifications by mail).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from core.platform.settings import EmailBasics, Section

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


class ImapSettings(Section):
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


class SmtpSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=587, ge=1, le=65535)
    username: str = ""
    password: str = ""
    ssl: bool = False
    # Without ssl: true requires STARTTLS (certificate verified); "auto" requires it of a
    # host on the network, not of this machine (loopback).
    starttls: AutoOrBool = "auto"
    from_address: str = "noreply@example.gov.sa"


class EmailSettings(EmailBasics):
    imap: ImapSettings = ImapSettings()
    smtp: SmtpSettings = SmtpSettings()
    # A larger mail is not read: its sender gets a polite refusal.
    max_message_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    # Replies one address may get per hour (a backstop against mail loops).
    max_replies_per_hour: int = Field(default=10, ge=1)
    # Log in (IMAP, SMTP) without TLS to a host that is not this machine: off, the password
    # would cross the network in clear.
    allow_plaintext_login: bool = False
    # More addresses of ours (the mailbox's aliases) that never get a reply, beside
    # smtp.from_address and the IMAP and SMTP usernames that are addresses. In the
    # environment: a JSON list.
    own_addresses: list[str] = []
    # The authserv-ids our receiving mail server writes in its Authentication-Results
    # (RFC 8601), e.g. ["mx.emirate.gov.sa"]: only a mail whose From domain it
    # authenticated (dmarc=pass, or spf=pass aligned with it) is answered. Empty: none is.
    # In the environment: a JSON list.
    authserv_ids: list[str] = []
    # Citizen's Voice's address: a mail to it (To, Cc, Delivered-To, X-Original-To) files
    # a complaint or a suggestion, in the same mailbox as the inquiries (an alias of it);
    # our mails about cases are sent from it. Empty: Citizen's Voice takes no mail.
    voice_address: str = ""

    @field_validator("voice_address", mode="before")
    @classmethod
    def _voice_address(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip():
            if "@" not in value.strip().strip("@") or any(c.isspace() for c in value.strip()):
                raise ValueError(f"{value!r} is not an e-mail address")
            return value.strip().lower()
        return value

    @field_validator("authserv_ids", mode="before")
    @classmethod
    def _server_ids(cls, value: Any) -> Any:
        if isinstance(value, list):
            for server in value:
                if not isinstance(server, str) or not server.strip() \
                        or any(c.isspace() or c in ';()"' for c in server.strip()):
                    raise ValueError(f"{server!r} is not an authserv-id (a host name, "
                                     "as in the server's Authentication-Results)")
            value = [server.strip().lower() for server in value]
        return value

    @field_validator("own_addresses", mode="before")
    @classmethod
    def _addresses(cls, value: Any) -> Any:
        if isinstance(value, list):
            for address in value:
                if not isinstance(address, str) or "@" not in address.strip().strip("@"):
                    raise ValueError(f"{address!r} is not an e-mail address")
            value = [address.strip().lower() for address in value]
        return value

    @model_validator(mode="after")
    def _voice_apart(self) -> EmailSettings:
        # The same address as the inquiries' would take every inquiry for a complaint.
        if self.voice_address and self.voice_address == self.smtp.from_address.strip().lower():
            raise ValueError("voice_address must be an address of its own, not "
                             "smtp.from_address")
        return self
