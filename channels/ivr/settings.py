"""The ``ivr`` section: the toll-free line on Twilio, its voices, and the agents' line."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal, Protocol

from pydantic import Field, field_validator

from core.platform.settings import Section
from core.voice.attachments import MAX_RECORDING_SECONDS


class TwilioSettings(Section):
    # The account (AC...) whose recordings the scheduler fetches, with the auth token, by
    # HTTP basic authentication.
    account_sid: str = ""
    auth_token: str = ""
    validate_signatures: bool = True
    # The hosts recordings are fetched from, by HTTPS; no other (a recording URL is what a
    # webhook said, and the fetch must not be turned against our own network). A local
    # test may name a loopback host, fetched by plain HTTP.
    recording_hosts: list[str] = ["api.twilio.com"]


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class VoiceSettings(Section):
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


class AgentSettings(Section):
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


class ComplaintSettings(Section):
    """Citizen's Voice on the line: a complaint left as a voice message (main menu 2) and
    a case's state by its tracking number (main menu 3), while ``voice.enabled``."""

    enabled: bool = True
    # The longest message (Twilio's <Record maxLength>), and the shortest filed: anything
    # shorter is silence or a cough, and the caller is told.
    max_record_seconds: int = Field(default=120, ge=10, le=MAX_RECORDING_SECONDS)
    min_record_seconds: int = Field(default=2, ge=1, le=30)


class IvrSettings(Section):
    enabled: bool = False
    toll_free_number: str = "8001287788"
    twilio: TwilioSettings = TwilioSettings()
    voice: VoiceSettings = VoiceSettings()
    agent: AgentSettings = AgentSettings()
    complaints: ComplaintSettings = ComplaintSettings()
    # Seconds Twilio waits for the first key of an answer before it counts as silence.
    input_timeout_seconds: int = Field(default=6, ge=2, le=30)
    # Take the caller ID at its word even when the network did not attest it (STIR/SHAKEN
    # "A"): anyone who forges the applicant's mobile as caller ID hears the status.
    trust_caller_id: bool = False


class PublicAddress(Protocol):
    """Where the outside world reaches the gateway (``gateway.public_url``): the URL Twilio
    signs and fetches prompts from."""

    @property
    def public_url(self) -> str: ...


class IvrConfiguration(Protocol):
    """What the phone line reads of the whole configuration."""

    @property
    def ivr(self) -> IvrSettings: ...

    @property
    def gateway(self) -> PublicAddress: ...

    @property
    def var_dir(self) -> Path: ...
