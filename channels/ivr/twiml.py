"""The Twilio adapter's output: the flow's actions as TwiML (twilio.twiml.voice_response).

Only documented verbs and attributes: <Say voice language>, <Play>, <Gather input action
method timeout numDigits finishOnKey>, <Record action method timeout finishOnKey
maxLength playBeep trim>, <Redirect method>, <Dial action method timeout>, <Hangup>. A
<Gather> is followed by a <Redirect> to its own action, so silence comes back to the
same menu as an empty answer; a <Record> by a <Redirect> to its action too (Twilio goes
on to the next verb when nothing was recorded).

Most answers are the same few menus, so documents are kept by the actions that made them
(and, in play mode, the recordings on disk): building one is dearer than the webhook's
database work.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

from channels.ivr.audio import AudioLibrary
from channels.ivr.flow import Action, Gather, Hangup, Record, Speak, Transfer
from channels.ivr.settings import VoiceSettings
from channels.ivr.speech import Sentence

# Documents kept: every fixed menu, and the statuses heard most recently.
RENDERED_KEPT = 2048


PLAY, SAY = "play", "say"
# Seconds of silence that end a voice message.
RECORD_SILENCE_SECONDS = 5


def spoken_parts(sentence: Sentence, audio: AudioLibrary | None) -> list[tuple[str, str]]:
    """How the line speaks ``sentence``, in order: ``(PLAY, url)`` for each phrase with a
    recording, ``(SAY, text)`` for the rest (phrases in a row without one are said
    together). Without recordings (say mode) the whole text is one ``(SAY, text)``.
    The call simulator shows and plays the same parts."""
    if audio is None:
        return [(SAY, sentence.text)]
    parts: list[tuple[str, str]] = []
    unrecorded: list[str] = []
    for phrase in sentence.phrases:
        url = audio.url(sentence.lang, phrase)
        if url is None:
            unrecorded.append(phrase)
            continue
        if unrecorded:
            parts.append((SAY, " ".join(unrecorded)))
            unrecorded = []
        parts.append((PLAY, url))
    if unrecorded:
        parts.append((SAY, " ".join(unrecorded)))
    return parts


class TwimlRenderer:
    def __init__(self, voice: VoiceSettings, audio: AudioLibrary | None, base_url: str,
                 input_timeout: int) -> None:
        self._voice = voice
        self._audio = audio if voice.mode == "play" else None
        self._base_url = base_url.rstrip("/")
        self._timeout = input_timeout
        self._rendered = lru_cache(maxsize=RENDERED_KEPT)(self._render)

    def input_url(self, node: str) -> str:
        return f"{self._base_url}/ivr/input/{node}"

    def recorded_url(self, reply_to: str | None = None) -> str:
        """<Record>'s action; the mobile keyed in for the SMS rides along in the query
        (Twilio signs the whole URL), so the call log never holds it."""
        url = f"{self._base_url}/ivr/recorded"
        return f"{url}?{urlencode({'reply_to': reply_to})}" if reply_to else url

    def render(self, actions: list[Action]) -> str:
        recordings = self._audio.version() if self._audio is not None else None
        return self._rendered(tuple(actions), recordings)

    def _render(self, actions: tuple[Action, ...], _recordings: int | None) -> str:
        response = VoiceResponse()
        for action in actions:
            if isinstance(action, Speak):
                self._speak(response, action.sentences)
            elif isinstance(action, Gather):
                url = self.input_url(action.node)
                options = {"num_digits": action.num_digits} if action.num_digits else {}
                gather = response.gather(input="dtmf", action=url, method="POST",
                                         timeout=self._timeout,
                                         finish_on_key=action.finish_on_key, **options)
                self._speak(gather, action.prompt)
                response.redirect(url, method="POST")
            elif isinstance(action, Record):
                self._speak(response, action.prompt)
                url = self.recorded_url(action.reply_to)
                response.record(action=url, method="POST", timeout=RECORD_SILENCE_SECONDS,
                                finish_on_key=action.finish_on_key,
                                max_length=action.max_seconds, play_beep=True,
                                trim="trim-silence")
                response.redirect(url, method="POST")
            elif isinstance(action, Transfer):
                response.dial(action.number, action=f"{self._base_url}/ivr/dial",
                              method="POST", timeout=action.ring_seconds)
            elif isinstance(action, Hangup):
                response.hangup()
        return str(response)

    def _speak(self, target, sentences: tuple[Sentence, ...]) -> None:
        for sentence in sentences:
            for kind, value in spoken_parts(sentence, self._audio):
                if kind == PLAY:
                    target.play(value)
                else:
                    self._say(target, sentence.lang, value)

    def _say(self, target, lang: str, text: str) -> None:
        voice = self._voice
        if lang == "ar":
            target.say(text, voice=voice.arabic_voice, language=voice.arabic_language)
        else:
            target.say(text, voice=voice.english_voice, language=voice.english_language)
