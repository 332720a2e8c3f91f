"""Where a phrase's recording lives: a file name that carries a hash of what made it.

The name hashes the text with the voice and rate it was rendered with, so a changed
wording or voice is a new file (cached forever by Twilio and browsers without going
stale), and the line finds a phrase's recording by computing the same name.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from channels.ivr.settings import IvrConfiguration, VoiceSettings

ENGINE = "pyttsx3-espeak-ng"
NAME = re.compile(r"^(ar|en)-[0-9a-f]{24}\.wav$")


def espeak_voice(voice: VoiceSettings, lang: str) -> str:
    return voice.espeak_arabic if lang == "ar" else voice.espeak_english


def audio_name(lang: str, text: str, voice: VoiceSettings) -> str:
    made_of = "\x1f".join((ENGINE, espeak_voice(voice, lang), str(voice.rate), lang, text))
    return f"{lang}-{hashlib.sha256(made_of.encode('utf-8')).hexdigest()[:24]}.wav"


def audio_dir(settings: IvrConfiguration) -> Path:
    return Path(settings.var_dir) / settings.ivr.voice.audio_dir


class AudioLibrary:
    """The rendered phrases on disk, and the URLs they are served at."""

    def __init__(self, directory: Path, voice: VoiceSettings, base_url: str) -> None:
        self.directory = directory
        self._voice = voice
        self._base_url = base_url.rstrip("/")
        self._listed: tuple[int | None, frozenset[str]] = (-1, frozenset())

    def version(self) -> int | None:
        """Changes whenever a recording is added or removed (the folder's mtime)."""
        try:
            return self.directory.stat().st_mtime_ns
        except OSError:
            return None

    def _names(self) -> frozenset[str]:
        # One stat a lookup instead of one per phrase; listed again when the folder changes
        # (a file's content never changes under its name: the name hashes it).
        version = self.version()
        listed_at, names = self._listed
        if version != listed_at:
            try:
                names = frozenset(os.listdir(self.directory)) if version is not None \
                    else frozenset()
            except OSError:
                names = frozenset()
            self._listed = (version, names)
        return names

    def path(self, lang: str, text: str) -> Path:
        return self.directory / audio_name(lang, text, self._voice)

    def url(self, lang: str, text: str) -> str | None:
        """The recording's URL, or None when it has not been rendered."""
        name = audio_name(lang, text, self._voice)
        if name not in self._names():
            return None
        return f"{self._base_url}/ivr/audio/{name}"
