"""The Twilio adapter's output: the flow's actions as TwiML (twilio.twiml.voice_response).

Only documented verbs and attributes: <Say voice language>, <Play>, <Gather input action
method timeout numDigits finishOnKey>, <Redirect method>, <Dial action method timeout>,
<Hangup>. A <Gather> is followed by a <Redirect> to its own action, so silence comes back
to the same menu as an empty answer.

Most answers are the same few menus, so documents are kept by the actions that made them
(and, in play mode, the recordings on disk): building one is dearer than the webhook's
database work.
"""

from __future__ import annotations

from functools import lru_cache

from twilio.twiml.voice_response import VoiceResponse

from channels.ivr.audio import AudioLibrary
from channels.ivr.flow import Action, Gather, Hangup, Speak, Transfer
from channels.ivr.speech import Sentence
from core.settings import VoiceSettings

# Documents kept: every fixed menu, and the statuses heard most recently.
RENDERED_KEPT = 2048


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
            elif isinstance(action, Transfer):
                response.dial(action.number, action=f"{self._base_url}/ivr/dial",
                              method="POST", timeout=action.ring_seconds)
            elif isinstance(action, Hangup):
                response.hangup()
        return str(response)

    def _speak(self, target, sentences: tuple[Sentence, ...]) -> None:
        for sentence in sentences:
            if self._audio is None:
                self._say(target, sentence.lang, sentence.text)
                continue
            unrecorded: list[str] = []  # said together, in one <Say>
            for phrase in sentence.phrases:
                url = self._audio.url(sentence.lang, phrase)
                if url is None:
                    unrecorded.append(phrase)
                    continue
                if unrecorded:
                    self._say(target, sentence.lang, " ".join(unrecorded))
                    unrecorded = []
                target.play(url)
            if unrecorded:
                self._say(target, sentence.lang, " ".join(unrecorded))

    def _say(self, target, lang: str, text: str) -> None:
        voice = self._voice
        if lang == "ar":
            target.say(text, voice=voice.arabic_voice, language=voice.arabic_language)
        else:
            target.say(text, voice=voice.english_voice, language=voice.english_language)
