"""The lockout test: an attacker failing inquiries in a victim's name on every channel
(their national ID, mobile, e-mail address and transaction number) does not stop the
victim's own SMS from their registered mobile, nor their portal inquiry from their own
address. Each request has the shape its channel gives the core."""

from __future__ import annotations

from core.identity.national_id import _luhn_check_digit
from core.transactions.inquiry import InquiryRequest
from tests import factories as f
from tests.channels.sms.test_inquiry import (  # noqa: F401  (fixtures)
    NUMBER,
    reference,
    registered,
    short_code,
)

ATTACKER_ADDRESS = "203.0.113.7"
VICTIM_ADDRESS = "198.51.100.20"
ROUNDS = 25  # more than twice the limit (10) on every counter


def wrong_id(n: int) -> str:
    first9 = f"2{n:08d}"
    return first9 + str(_luhn_check_digit(first9))


def unknown_number(n: int) -> str:
    return f"76{n:05d}"


def attack(core) -> None:
    """Failed inquiries for the victim's ID, mobile, e-mail and number, on every channel."""
    for n in range(ROUNDS):
        # The portal and the API, from the attacker's address: the victim's ID with
        # numbers that are not theirs, the victim's number with IDs that are not theirs.
        for channel, origin in (("web", ATTACKER_ADDRESS), ("api", "desk-1"),
                                ("kiosk", "kiosk-lobby")):
            core.inquire(InquiryRequest(channel=channel, number_text=unknown_number(n),
                                        national_id=f.NATIONAL_ID, origin=origin))
            core.inquire(InquiryRequest(channel=channel, number_text=NUMBER,
                                        national_id=wrong_id(n), origin=origin))
        # SMS from other mobiles, asking for the victim's number.
        short_code(core).reply(f"+96656{n:07d}", NUMBER)
        # The phone line with the victim's mobile as a forged caller ID: a first try,
        # then a wrong national ID; and from the attacker's own line, the victim's number.
        for number in (unknown_number(n), NUMBER):
            caller = f.MOBILE_E164 if number != NUMBER else "+966570000001"
            core.inquire(InquiryRequest(channel="ivr", number_text=number, mobile=caller,
                                        origin=caller, first_try=True))
            core.inquire(InquiryRequest(channel="ivr", number_text=number, mobile=caller,
                                        national_id=wrong_id(n), origin=caller))
        # A withheld number: no caller ID, no origin.
        core.inquire(InquiryRequest(channel="ivr", number_text=NUMBER,
                                    national_id=wrong_id(n + 100)))
        # A mail with a forged From (the victim's address), ten numbers in it.
        for k in range(10):
            core.inquire(InquiryRequest(channel="email", number_text=unknown_number(100 + k),
                                        email=f.EMAIL, national_id=f.NATIONAL_ID,
                                        origin=f.EMAIL))


def test_an_attack_on_every_channel_does_not_lock_the_victim_out(registered):  # noqa: F811
    core = registered
    answered = short_code(core).reply(f.MOBILE_E164, NUMBER).body

    attack(core)

    # The victim's own SMS, from the registered mobile (the network vouches for it).
    assert short_code(core).reply(f.MOBILE_E164, NUMBER).body == answered
    # The victim on the portal, from their own address.
    assert core.inquire(InquiryRequest(channel="web", number_text=NUMBER,
                                       national_id=f.NATIONAL_ID, origin=VICTIM_ADDRESS)).found
    # The attacker's own address and lines are refused: the limits still hold.
    refused = core.inquire(InquiryRequest(channel="web", number_text=NUMBER,
                                          national_id=f.NATIONAL_ID, origin=ATTACKER_ADDRESS))
    assert refused.outcome.value == "rate_limited"
