"""How a citizen without an account reaches their case on a page: the tracking number
and the case's mobile to read it; a one-time SMS code sent to that mobile to act on it.

Reading asks for two things a stranger is unlikely to hold together, and a wrong pair is
counted where every process sees it, per origin and per tracking number (an hour's
window): tracking numbers cannot be enumerated from one place, nor one case's mobile
guessed from many. "No such case" and "not yours" are one refusal, counted alike.

Acting (a reply, a rating, reopening, withdrawing) changes the case and tells the agency
it came from the citizen: a pair that was read over someone's shoulder, or guessed once,
must not be enough. The code goes to the case's own mobile (never to one the page names);
once typed, it proves that mobile for that one case for ``codes.PROOF_LIFETIME``, and each
act is made once (its source key "portal:<code id>:<form key>").
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from core.messaging.codes import OneTimeCodes, Sent, Verified
from core.platform.db import Database
from core.platform.errors import InvalidRequest, NotFound, TooMany
from core.platform.ratelimit import DatabaseFailureCounts, FailureCounts, origin_group
from core.platform.settings import CoreSettings
from core.voice import limits as filing_limits
from core.voice.actions import CitizenProof
from core.voice.citizen_cases import CitizenView
from core.voice.filed import Filed
from core.voice.tracking import parse_tracking

PURPOSE = "voice_case"
WINDOW = 3600
FAILURES_PER_ORIGIN = 20
FAILURES_PER_CASE = 10
ACTIONS = ("citizen_reply", "rate", "reopen", "withdraw")
MAX_FORM_KEY = 64


class CitizenCases(Protocol):
    """What this needs of ``VoiceService``: the citizen's view of a case and acts."""

    def citizen_view(self, tracking: str, proof: CitizenProof) -> CitizenView: ...

    def citizen_act(self, tracking: str, action: str, proof: CitizenProof, *,
                    text: str | None = None, rating: int | None = None,
                    source_key: str | None = None) -> Filed: ...


class CitizenAccess:
    def __init__(self, db: Database, config: CoreSettings, codes: OneTimeCodes,
                 voice: CitizenCases, *, counts: FailureCounts | None = None) -> None:
        self._codes = codes
        self._voice = voice
        self._secret = hashlib.sha256(b"voice-lookups:" + config.national_id_key()).digest()
        # Their keys carry the filing limits' prefix: the upkeep keeps them a day.
        self._counts = counts or DatabaseFailureCounts(db, WINDOW)

    def look_up(self, tracking: str, mobile: str, *, origin: str | None) -> CitizenView:
        """The case as its citizen sees it, proved by its mobile (``NotFound`` when it is
        no case or not theirs: counted; ``TooMany`` when the origin or the number has
        failed too often within the hour, whatever is typed now)."""
        keys = self._keys(tracking, origin)
        found = self._counts.counts(keys)
        limits = [FAILURES_PER_ORIGIN if key.startswith(_ORIGIN) else FAILURES_PER_CASE
                  for key in keys]
        if any(found.get(key, 0) >= limit for key, limit in zip(keys, limits, strict=True)):
            raise TooMany("too many lookups that found nothing; please try later",
                          code="too_many_lookups", retry_after=WINDOW)
        try:
            return self._voice.citizen_view(tracking, CitizenProof(mobile=mobile))
        except NotFound:
            self._counts.add(keys)
            raise

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
        proof = self._proof(code_id, tracking)
        return self._voice.citizen_act(tracking, action, CitizenProof(mobile=proof.mobile),
                                       text=text, rating=rating,
                                       source_key=f"portal:{code_id}:{form_key}")

    def _proof(self, code_id: int, tracking: str) -> Verified:
        proof = self.proven(code_id, tracking)
        if proof is None:
            raise NotFound("no such case", code="unknown_case", field="tracking")
        return proof

    def _keys(self, tracking: str, origin: str | None) -> list[str]:
        keys = [_CASE + self._hash(f"case:{parse_tracking(tracking) or tracking.strip()}")]
        if origin:
            keys.append(_ORIGIN + self._hash(f"origin:{origin_group(origin)}"))
        return keys

    def _hash(self, value: str) -> str:
        return hashlib.blake2b(value.encode("utf-8", "surrogatepass"), key=self._secret,
                               digest_size=24).hexdigest()


# Short: a key is at most 64 characters (``failure_counts.key``), 57 with the digest.
_CASE = filing_limits.KEY_PREFIX + "lc-"
_ORIGIN = filing_limits.KEY_PREFIX + "lo-"
