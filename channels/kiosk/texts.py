"""What the kiosk says, in Arabic and English, and how it writes digits.

Every string comes from the gettext catalog (core/i18n.py). Arabic screens show digits
as Arabic-Indic (٠١٢…); the keypad, the typed number and the countdowns follow the
screen's language, while what is sent to the gateway is always ASCII.
"""

from __future__ import annotations

from datetime import datetime

from core.platform.i18n import gettext_for

SMS_SHORT_CODE = "74747"
TOLL_FREE = "8001287788"

MASK_DOT = "\u25cf"  # ●, one per digit of the national ID typed
_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def shown_digits(text: str, lang: str) -> str:
    """``text`` with its ASCII digits as the language writes them on a screen."""
    return text.translate(_ARABIC_INDIC) if lang == "ar" else text


def masked(national_id: str) -> str:
    """The national ID as it is typed: one dot per digit, none of the digits."""
    return MASK_DOT * len(national_id)


def texts(lang: str) -> dict[str, str]:
    """Every fixed text of the kiosk in ``lang``, by key."""
    _ = gettext_for(lang)
    return {
        "title": _("Transaction status"),
        "welcome": _("Know the status of your transaction"),
        "start": _("Start"),
        "large_text": _("Large text"),
        "high_contrast": _("High contrast"),
        "on": _("on"),
        "off": _("off"),
        "number_prompt": _("Enter the transaction number"),
        "id_prompt": _("Enter your national ID number"),
        "next": _("Next"),
        "back": _("Back"),
        "delete": _("Delete"),
        "keypad": _("Keypad"),
        "number_too_short": _("The transaction number is too short."),
        "id_length": _("The national ID has 10 digits."),
        "waiting": _("Looking up your transaction…"),
        # The result's heading: what the page is about, not a verdict ("Found").
        "status_heading": _("Transaction status"),
        "not_found_heading": _("No transaction found"),
        "print": _("Print receipt"),
        "done": _("Done"),
        "try_again": _("Try again"),
        "printing_done": _("Please take your receipt."),
        "printing_saved": _("Receipt saved (test mode)."),
        "printer_problem": _("The receipt could not be printed. The status is on the "
                             "screen; you can also ask by SMS."),
        "offline_title": _("The service is not reachable right now"),
        "offline_body": _("Send your transaction number by SMS to {short_code}, or call "
                          "the toll-free line {toll_free}.").format(
            short_code=shown_digits(SMS_SHORT_CODE, lang),
            toll_free=shown_digits(TOLL_FREE, lang)),
        "retry_in": _("Trying again in {seconds} seconds"),
        "retry_now": _("Try now"),
        "cancel": _("Cancel and go home"),
        "rate_limited_title": _("Too many attempts. Please try again later."),
        "rate_limited_body": _("You can also send your transaction number by SMS to "
                               "{short_code}.").format(
            short_code=shown_digits(SMS_SHORT_CODE, lang)),
        "last_reached": _("Last reached at {time}"),
        "never_reached": _("Not reached since the kiosk started"),
        "error_title": _("This kiosk is out of service"),
        "still_there": _("Are you still there?"),
        "still_there_body": _("For your privacy the screen will be cleared in {seconds} "
                              "seconds."),
        "still_here": _("I am still here"),
        "pin_prompt": _("Technician PIN"),
        "wrong_pin": _("Wrong PIN."),
        "pin_locked": _("Too many wrong PINs. Technician access is locked for a while."),
        "maintenance": _("Maintenance"),
        "gateway_reachable": _("Gateway: reachable"),
        "gateway_unreachable": _("Gateway: not reachable"),
        "version": _("Version {version}"),
        "kiosk_id": _("Kiosk {kiosk_id}"),
        "printer": _("Printer: {state}"),
        "exit": _("Exit the kiosk app"),
        "receipt_title": _("Transaction status receipt"),
        "receipt_number": _("Transaction number"),
        "receipt_status": _("Status"),
        "receipt_date": _("Date"),
        "receipt_reference": _("Reference"),
    }


def clock_time(moment: datetime, lang: str) -> str:
    """``HH:MM`` in the screen's digits."""
    return shown_digits(moment.strftime("%H:%M"), lang)
