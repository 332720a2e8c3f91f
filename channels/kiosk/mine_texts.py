"""What the kiosk says in "my transactions", in Arabic and English (the gettext catalog,
core/platform/i18n.py): the home's tile, the ID and code prompts, the list."""

from __future__ import annotations

from core.platform.i18n import gettext_for


def mine_texts(lang: str) -> dict[str, str]:
    """Every fixed text of the kiosk's "my transactions" screens in ``lang``, by key."""
    _ = gettext_for(lang)
    return {
        "mine_title": _("My transactions"),
        "mine_tile_body": _("All your transactions and cases, with a code sent to your "
                            "mobile"),
        "mine_id_prompt": _("Enter your national ID or Iqama number"),
        "mine_code_prompt": _("If this national ID has transactions, a 6-digit code was "
                              "sent by text message to the mobile registered on them. "
                              "Enter it"),
        "code_length": _("The code has 6 digits."),
        "wrong_code": _("The code is not right or has expired. Check the text message, "
                        "or go back to ask for a new code."),
        "too_many_codes": _("For your protection, this is paused for a while after many "
                            "attempts. Please try again in an hour."),
        "id_invalid": _("Enter the 10 digits of your national ID or Iqama number, "
                        "starting with 1 or 2."),
        "mine_expired": _("For your privacy, the code is no longer valid. Please start "
                          "again."),
        "none": _("No transactions are registered under this national ID."),
        "registered_on": _("Registered on"),
        "department": _("Department"),
        "outgoing": _("Outgoing number"),
        "sent_to": _("Sent to"),
        "more": _("Your %(count)s older transactions are not shown here; ask about each "
                  "by its number."),
        "cases_title": _("Your complaints and suggestions"),
        "no_cases": _("None."),
        "done": _("Done"),
        "complaint": _("Complaint"),
        "suggestion": _("Suggestion"),
        "enquiry": _("Enquiry"),
    }
