"""How a citizen without an account reaches their case on a page: the tracking number
and the case's mobile to read it; a one-time SMS code sent to that mobile to act on it.

Reading asks for two things a stranger is unlikely to hold together, and a wrong pair is
counted under the one lookup limit of every channel (``core.voice.lookups``: per place,
here the page's origin, and per tracking number). "No such case" and "not yours" are one
refusal, counted alike.

Acting (a reply, a rating, reopening, withdrawing) changes the case and tells the agency
it came from the citizen: a pair that was read over someone's shoulder, or guessed once,
must not be enough. The code goes to the case's own mobile (never to one the page names);
once typed, it proves that mobile for that one case for ``codes.PROOF_LIFETIME``, and each
act is made once (its source key "portal:<code id>:<form key>").
"""

from __future__ import annotations

from typing import Protocol

from core.messaging.codes import OneTimeCodes, Sent, Verified
from core.platform.errors import InvalidRequest, NotFound
from core.voice.actions import CitizenProof
from core.voice.citizen_cases import CitizenView
from core.voice.filed import Filed
from core.voice.tracking import parse_tracking

PURPOSE = "voice_case"
# The place of a lookup whose origin is unknown (a caller who hides their number): all
# such lookups share one counter.
UNKNOWN_PLACE = "unknown"
ACTIONS = ("citizen_reply", "rate", "reopen", "withdraw")
MAX_FORM_KEY = 64


class CitizenCases(Protocol):
    """What this needs of ``VoiceService``: the citizen's view of a case and acts."""

    def citizen_view(self, tracking: str, proof: CitizenProof, *,
                     place: str | None = None) -> CitizenView: ...

    def citizen_act(self, tracking: str, action: str, proof: CitizenProof, *,
                    text: str | None = None, rating: int | None = None,
                    source_key: str | None = None) -> Filed: ...


class CitizenAccess:
    def __init__(self, codes: OneTimeCodes, voice: CitizenCases) -> None:
        self._codes = codes
        self._voice = voice

    def look_up(self, tracking: str, mobile: str, *, origin: str | None) -> CitizenView:
        """The case as its citizen sees it, proved by its mobile (``NotFound`` when it is
        no case or not theirs: counted; ``TooMany`` when the origin or the number has
        failed too often, whatever is typed now: ``core.voice.lookups``)."""
        return self._voice.citizen_view(tracking, CitizenProof(mobile=mobile),
                                        place=origin or UNKNOWN_PLACE)

    def send_code(self, tracking: str, mobile: str, *, lang: str,
                  origin: str | None) -> Sent:
        """A code to the case's mobile for acting on it, after the same lookup as reading
        (so that a wrong pair sends nothing and is counted)."""
        self.look_up(tracking, mobile, origin=origin)
        number = parse_tracking(tracking)
        assert number is not None  # found, so it parsed
        return self._codes.send(PURPOSE, mobile, lang=lang, origin=origin, subject=number)

    def waiting(self, code_id: int) -> Sent | None:
        return self._codes.sent(code_id, PURPOSE)

    def resend(self, code_id: int, *, lang: str, origin: str | None) -> Sent:
        return self._codes.resend(code_id, PURPOSE, lang=lang, origin=origin)

    def confirm(self, code_id: int, typed: str, *, origin: str | None) -> Verified:
        return self._codes.verify(code_id, PURPOSE, typed, origin=origin)

    def proven(self, code_id: int, tracking: str) -> Verified | None:
        """The proof a verified code still gives for the case ``tracking``, if any."""
        proof = self._codes.verified(code_id, PURPOSE)
        if proof is None or proof.subject != parse_tracking(tracking):
            return None
        return proof

    def view(self, code_id: int, tracking: str) -> CitizenView:
        """The case, read with a verified code's proof (not counted: proven already)."""
        proof = self._proof(code_id, tracking)
        return self._voice.citizen_view(tracking, CitizenProof(mobile=proof.mobile))

    def act(self, code_id: int, tracking: str, action: str, *, form_key: str,
            text: str | None = None, rating: int | None = None) -> Filed:
        """The citizen's act on the case, proved by the verified code ``code_id``; made
        once per ``form_key`` (a key the form carries: a second submission of the same
        form changes nothing)."""
        if action not in ACTIONS:
            raise InvalidRequest(f"action: one of {', '.join(ACTIONS)}",
                                 code="invalid_field", field="action")
        if not form_key or len(form_key) > MAX_FORM_KEY:
            raise InvalidRequest("form key missing", code="invalid_field", field="key")
        return self.act_once(code_id, tracking, action, text=text, rating=rating,
                             source_key=f"portal:{code_id}:{form_key}")

    def act_once(self, code_id: int, tracking: str, action: str, *,
                 source_key: str | None, text: str | None = None,
                 rating: int | None = None) -> Filed:
        """The citizen's act proved by the verified code ``code_id``, made once per
        ``source_key`` (the channel's: a terminal's is "api:<token>:<Idempotency-Key>");
        ``NotFound`` when the code proves nothing (more) for this case."""
        if action not in ACTIONS:
            raise InvalidRequest(f"action: one of {', '.join(ACTIONS)}",
                                 code="invalid_field", field="action")
        proof = self._proof(code_id, tracking)
        return self._voice.citizen_act(tracking, action, CitizenProof(mobile=proof.mobile),
                                       text=text, rating=rating, source_key=source_key)

    def _proof(self, code_id: int, tracking: str) -> Verified:
        proof = self.proven(code_id, tracking)
        if proof is None:
            raise NotFound("no such case", code="unknown_case", field="tracking")
        return proof
