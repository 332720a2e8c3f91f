"""Citizen's Voice for the line (``flow.CitizenVoice``), over the core's ``VoiceService``.

A voice message is filed as a complaint whose text only says what it is (staff listen to
the recording), with the recording's URL at Twilio as its attachment (fetched into the
database by the scheduler), the caller's mobile (or the one keyed in) to send the
tracking number to, and the call as its source: Twilio posting the same recording twice
files it once. A case is looked up with the mobile as proof, under the lookup limits
the portal and the kiosk count against too (``core.voice.lookups``; the caller's number is
the place).
"""

from __future__ import annotations

from channels.ivr.flow import Recording
from core.platform.errors import NotFound
from core.platform.i18n import gettext_for
from core.voice.actions import CitizenProof
from core.voice.attachments import NewAttachment
from core.voice.citizen_cases import CitizenView
from core.voice.service import VoiceService

# Twilio serves a recording as MP3 at its URL + ".mp3" (the scheduler fetches that).
RECORDING_TYPE = "audio/mpeg"


def message_text(seconds: int, lang: str) -> str:
    """The case's text in its language: a voice message of this length."""
    _ = gettext_for(lang)
    return _("Voice message left on the phone line ({seconds} s): listen to the "
             "recording.").format(seconds=seconds)


class CoreVoice:
    def __init__(self, voice: VoiceService, channel: str = "ivr") -> None:
        self._voice = voice
        self._channel = channel

    def file_complaint(self, call_sid: str, lang: str, mobile: str, origin: str | None,
                       recording: Recording) -> str:
        data = {"type": "complaint", "channel": self._channel, "lang": lang,
                "text": message_text(recording.seconds, lang),
                "citizen": {"mobile": mobile}}
        filed = self._voice.file_case(
            data, source_key=f"{self._channel}:{call_sid}", self_service=True,
            origin=origin, attachments=[NewAttachment(
                kind="recording", content_type=RECORDING_TYPE, source_url=recording.url,
                seconds=recording.seconds)])
        return filed.tracking

    def case(self, tracking: str, mobile: str, origin: str | None, *,
             first_try: bool = False) -> CitizenView | None:
        try:
            if first_try:
                # The vouched caller ID, which the caller did not choose: a miss only
                # leads to the mobile question (nothing told, so nothing counted), and
                # the owner is answered even while strangers' guesses block the number.
                return self._voice.citizen_view(tracking, CitizenProof(mobile=mobile))
            # Counted, per caller and per tracking number (``core.voice.lookups``).
            return self._voice.citizens.look_up(tracking, mobile, origin=origin)
        except NotFound:
            return None
