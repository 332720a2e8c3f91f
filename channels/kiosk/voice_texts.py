"""What the kiosk says in Citizen's Voice, in Arabic and English (the gettext catalog,
core/platform/i18n.py): the home's tiles, the steps of filing and following a case."""

from __future__ import annotations

from core.platform.i18n import gettext_for


def voice_texts(lang: str) -> dict[str, str]:
    """Every fixed text of the kiosk's Citizen's Voice screens in ``lang``, by key."""
    _ = gettext_for(lang)
    return {
        "voice_title": _("Citizen's Voice"),
        "complaint": _("Complaint"),
        "suggestion": _("Suggestion"),
        "type_label": _("Type"),
        "agency_label": _("Agency"),
        "mobile_label": _("Mobile"),
        "receipt_tracking": _("Tracking number"),
        "emirate": _("Regional Emirate"),
        "next": _("Next"),
        "back": _("Back"),
        "done": _("Done"),
        "too_many_lookups": _("Too many attempts. Please try again later."),
        "category_label": _("Subject"),
        "home_welcome": _("Welcome. Please choose a service."),
        "voice_tile_body": _("Complaints and suggestions to the emirate's agencies"),
        "voice_intro": _("Tell the agencies what should be fixed or improved, and follow their "
                         "answer."),
        "file_complaint": _("File a complaint"),
        "file_suggestion": _("Make a suggestion"),
        "follow_case": _("Follow my case"),
        "complaint_tile": _("Something is wrong and should be fixed"),
        "suggestion_tile": _("An idea to improve a service"),
        "follow_tile": _("With the tracking number and your mobile"),
        "home": _("Home"),
        "voice_waiting": _("One moment, please…"),
        "agency_prompt": _("Which agency is it about?"),
        "not_sure": _("I am not sure: the emirate will send it on"),
        "category_prompt": _("What is it about?"),
        "other_category": _("Something else"),
        "complaint_prompt": _("Write your complaint"),
        "suggestion_prompt": _("Write your suggestion"),
        "reply_prompt": _("Write your reply"),
        "characters": _("{count} of {limit} characters"),
        "space": _("Space"),
        "shift": _("Capital letter"),
        "keyboard": _("Keyboard"),
        "text_empty": _("Please write a few words first."),
        "text_too_long": _("The text is as long as it may be here."),
        "mobile_prompt": _("Your mobile number: the tracking number is sent to it by SMS"),
        "mobile_invalid": _("This is not a Saudi mobile number (05…)."),
        "confirm_title": _("Check, then send"),
        "send": _("Send"),
        "text_label": _("Text"),
        "emirate_routes": _("The emirate sends it to the agency responsible"),
        "not_sent": _("The service did not answer, so your case may not have arrived. Tap Send "
                      "again: it will not be filed twice."),
        "voice_offline": _("The service is not reachable right now. Please try again."),
        "too_many_cases": _("This mobile number has filed as many cases as it may today. Please "
                            "try again tomorrow."),
        "not_accepted": _("This could not be accepted as it is. Please check it."),
        "filed_title": _("Your case was received"),
        "filed_body": _("Keep this tracking number; it is also sent to your mobile. Follow your "
                        "case here, on the portal, or by sending the number by SMS to 74747."),
        "tracking_prompt": _("Enter the tracking number"),
        "tracking_invalid": _("A tracking number has 10 digits and starts with 7. Please check "
                              "it."),
        "follow_mobile_prompt": _("Enter the mobile number the case was filed with"),
        "case_not_found": _("No case was found with this tracking number and mobile number."),
        "case_state": _("State: {state}"),
        "question_label": _("You are asked:"),
        "answer_label": _("The answer:"),
        "reply": _("Reply"),
        "rate_prompt": _("How satisfied are you with the answer? From 1 (not at all) to 5 (very)."),
        "reopen": _("Reopen the case"),
        "reopen_until": _("You may reopen it until {date}."),
        "rated": _("You rated the answer {rating} of 5."),
        "done_citizen_reply": _("Your reply was added to the case."),
        "done_rate": _("Thank you for your rating."),
        "done_reopen": _("The case is open again."),
        "wrong_state": _("This cannot be done for the case now."),
        "follow_code_prompt": _("To protect your case, a 6-digit code was sent by text "
                                "message to the mobile number of this case. Enter it"),
        "code_expired": _("For your protection, the code is no longer valid. Try again to "
                          "get a new code."),
        "code_cooldown": _("A code was just sent to this mobile. Wait a minute before "
                           "asking for another."),
        "too_many_codes": _("For your protection, this is paused for a while after many "
                            "attempts. Please try again in an hour."),
        "history_label": _("What happened so far"),
        "case_receipt_title": _("Citizen's Voice receipt"),
    }
