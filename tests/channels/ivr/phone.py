"""A caller on the line, the way Twilio drives the webhooks.

Each request is signed with twilio's own ``RequestValidator.compute_signature`` over the
public URL and the posted parameters. The phone follows what the TwiML says: it presses
keys into the current <Gather>'s action, stays silent by following the <Redirect> after
it, and reports an agent's line through the <Dial>'s action.

Keys are sent as Twilio sends them: the <Gather> ends at its ``finishOnKey``, which is
left out of ``Digits``, or after ``numDigits`` keys; a <Gather> that ended with no digits
posts nothing (``actionOnEmptyResult`` is false) and Twilio moves on to the <Redirect>.
``send_digits`` posts ``Digits`` exactly as given, for what Twilio itself would not send.

``verstat`` is Twilio's SHAKEN/STIR verdict on the caller ID (``StirVerstat``), sent with
the incoming-call webhook only, as Twilio documents it; none by default (a caller ID no
carrier signed, as any forged one).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import count
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator

PUBLIC_URL = "https://ivr.example.gov.sa"
AUTH_TOKEN = "test-twilio-auth-token"
TOLL_FREE = "+9668001287788"
# The caller ID signed by its carrier with full attestation, and verified by Twilio.
ATTESTED = "TN-Validation-Passed-A"

# What Twilio documents for the verbs the line uses (TwiML voice reference).
ALLOWED = {
    "Response": set(),
    "Say": {"voice", "language", "loop"},
    "Play": {"loop", "digits"},
    "Gather": {"input", "action", "method", "timeout", "numDigits", "finishOnKey",
               "actionOnEmptyResult", "language", "speechTimeout", "hints"},
    "Redirect": {"method"},
    "Dial": {"action", "method", "timeout", "callerId", "record", "timeLimit",
             "answerOnBridge", "hangupOnStar"},
    "Number": set(),
    "Hangup": set(),
    "Pause": {"length"},
    "Record": {"action", "method", "timeout", "finishOnKey", "maxLength", "playBeep",
               "trim", "recordingStatusCallback", "recordingStatusCallbackMethod",
               "recordingStatusCallbackEvent", "transcribe", "transcribeCallback"},
}
NESTING = {"Response": {"Say", "Play", "Gather", "Redirect", "Dial", "Hangup", "Pause",
                        "Record"},
           "Gather": {"Say", "Play", "Pause"}, "Dial": {"Number"}}

_sids = count(1)


def check_twiml(body: str) -> ET.Element:
    """Parse a TwiML document and check it uses only documented verbs and attributes."""
    root = ET.fromstring(body)
    assert root.tag == "Response"

    def walk(element: ET.Element) -> None:
        assert element.tag in ALLOWED, element.tag
        assert set(element.attrib) <= ALLOWED[element.tag], (element.tag, element.attrib)
        for child in element:
            assert child.tag in NESTING.get(element.tag, set()), (element.tag, child.tag)
            walk(child)
        if element.tag in ("Say", "Play", "Redirect"):
            assert (element.text or "").strip(), f"empty <{element.tag}>"

    walk(root)
    return root


def gathered(gather: ET.Element, keys: str) -> str:
    """What Twilio posts as ``Digits`` when ``keys`` are pressed during ``gather``."""
    finish = gather.attrib.get("finishOnKey", "#")
    limit = int(gather.attrib["numDigits"]) if "numDigits" in gather.attrib else None
    digits = ""
    for key in keys:
        if finish and key == finish:
            break
        digits += key
        if limit is not None and len(digits) == limit:
            break
    return digits


class Phone:
    def __init__(self, client, caller: str = "+966551234567", *,
                 token: str = AUTH_TOKEN, public_url: str = PUBLIC_URL,
                 verstat: str | None = None) -> None:
        self.client = client
        self.caller = caller
        self.verstat = verstat
        self.sid = f"CA{next(_sids):032x}"
        self.validator = RequestValidator(token)
        self.public_url = public_url
        self.twiml: ET.Element | None = None
        self.responses: list[str] = []
        self.sent: list[dict[str, str]] = []  # the parameters of each request

    # --- what the caller does ---------------------------------------------------------

    def call(self) -> ET.Element:
        attestation = {"StirVerstat": self.verstat} if self.verstat else {}
        return self.post(f"{self.public_url}/ivr/voice", **attestation)

    def press(self, keys: str) -> ET.Element:
        """Press ``keys`` on the keypad while the current <Gather> listens."""
        gather = self.gather()
        digits = gathered(gather, keys)
        if not digits:
            return self.silence()
        return self.post(gather.attrib["action"], Digits=digits)

    def send_digits(self, digits: str) -> ET.Element:
        """Post ``Digits`` to the current <Gather>'s action as they are."""
        return self.post(self.gather().attrib["action"], Digits=digits)

    def silence(self) -> ET.Element:
        redirect = self.twiml.find("Redirect")
        assert redirect is not None, "a <Redirect> follows the <Gather>"
        return self.post(redirect.text.strip())

    def speak(self, seconds: int, *, recording_sid: str = "RE" + "1" * 32) -> ET.Element:
        """Leave a voice message of ``seconds`` at the current <Record>, ended by the hash
        key: Twilio posts the recording to the <Record>'s action."""
        record = self.twiml.find("Record")
        assert record is not None, f"the line is recording: {self.responses[-1]}"
        return self.post(record.attrib["action"], **self.recording(seconds, recording_sid))

    @staticmethod
    def recording(seconds: int, recording_sid: str = "RE" + "1" * 32) -> dict[str, str]:
        """The parameters Twilio posts with a recording."""
        return {"RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}"
                                f"/Recordings/{recording_sid}",
                "RecordingDuration": str(seconds), "RecordingSid": recording_sid,
                "Digits": "#"}

    def agent_line(self, status: str) -> ET.Element:
        dial = self.twiml.find("Dial")
        assert dial is not None, "the call is being put through"
        return self.post(dial.attrib["action"], DialCallStatus=status)

    def hang_up(self, duration: int) -> int:
        response = self.raw_post(f"{self.public_url}/ivr/status", CallStatus="completed",
                                 CallDuration=str(duration))
        return response.status_code

    # --- what the caller hears -------------------------------------------------------

    def gather(self) -> ET.Element:
        gather = self.twiml.find("Gather")
        assert gather is not None, f"the line is waiting for keys: {self.responses[-1]}"
        return gather

    def heard(self) -> str:
        """Everything <Say> speaks in the last response, in order, as one text."""
        return " ".join((e.text or "").strip() for e in self.twiml.iter()
                        if e.tag in ("Say",))

    def hung_up(self) -> bool:
        return self.twiml.find("Hangup") is not None

    # --- HTTP ---------------------------------------------------------------------------

    def params(self, **extra: str) -> dict[str, str]:
        return {"CallSid": self.sid, "AccountSid": "AC" + "0" * 32, "From": self.caller,
                "To": TOLL_FREE, "Direction": "inbound", "CallStatus": "in-progress",
                **extra}

    def raw_post(self, url: str, headers: dict[str, str] | None = None, **extra: str):
        params = self.params(**extra)
        self.sent.append(params)
        signature = self.validator.compute_signature(url, params)
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return self.client.post(path, data=params,
                                headers={"X-Twilio-Signature": signature, **(headers or {})})

    def post(self, url: str, **extra: str) -> ET.Element:
        response = self.raw_post(url, **extra)
        assert response.status_code == 200, (response.status_code, response.get_data())
        assert response.mimetype == "text/xml"
        body = response.get_data(as_text=True)
        self.responses.append(body)
        self.twiml = check_twiml(body)
        return self.twiml
