"""The admin's reference pages for Citizen's Voice: ``/admin/categories`` (categories per
agency with their targets, and each agency's default targets) and ``/admin/calendar``
(holidays and date-range overrides of the working hours).

Every change goes through the core's own functions, the ones the API and ``gateway
holidays`` use: a category's targets supersede its current policy (cases keep the one
they were timed with), and a holiday or an override writes a new calendar version
(the scheduler retimes the open cases under it). Only an ``admin`` reaches these pages;
every form carries its CSRF token; a refused change is told on the page, in the
admin's language, and changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from core.access.actors import ADMIN
from core.calendar.holidays import days_between
from core.calendar.overrides import parse_hours
from core.identity.digits import normalize_digits
from core.platform.errors import CoreError
from core.platform.i18n import gettext_for
from gateway import voice_format as fmt
from gateway.accounts import user_required
from gateway.portal import check_csrf, page_language

voice_admin = Blueprint("voice_admin", __name__, url_prefix="/admin")
voice_admin.before_request(check_csrf)

CASE_TYPES = ("complaint", "suggestion", "enquiry")
MAX_FIELD = 200


def _voice():
    return current_app.extensions["core"].voice


def _form(*names: str, prefix: str = "") -> dict[str, str]:
    """The form's fields (``prefix-name`` on the page, where one page has two forms),
    trimmed, by their short names."""
    return {name: request.form.get(prefix + name, "").strip()[:MAX_FIELD]
            for name in names}


@voice_admin.errorhandler(CSRFError)
@user_required(ADMIN)
def _csrf_failed(_exc: CSRFError):
    _ = gettext_for(page_language())
    notice = _("The form expired before it was sent. Please try again.")
    if request.path.startswith("/admin/calendar"):
        return _calendar_page(status=400, errors={"calendar": notice})
    return _categories_page(status=400, errors={"category": notice})


def _messages(lang: str) -> dict[str, str]:
    _ = gettext_for(lang)
    return {
        "code": _("The code has letters, digits, '.', '_' or '-' (at most 64), starting "
                  "with a letter or digit."),
        "agency": _("Choose an agency."),
        "name_ar": _("Enter the Arabic name (at most 200 characters)."),
        "name_en": _("Enter the English name (at most 200 characters)."),
        "types": _("Tick at least one case type."),
        "acknowledge": _("Enter both targets as working days or hours, such as 1d and "
                         "10d or 4h, or leave both empty."),
        "answer": _("Enter both targets as working days or hours, such as 1d and 10d or "
                    "4h, or leave both empty."),
        "acknowledge_after_answer": _("The acknowledge target must not be longer than "
                                      "the answer target: in the same unit at most as "
                                      "many, and in hours when the answer is in hours."),
        "category_agency": _("This category belongs to another agency: make a new one."),
        "first": _("Enter a date such as 2027-03-20."),
        "through": _("The last day is on or after the first, at most 31 days for "
                     "holidays and 400 for overrides."),
        "hours": _("Write the hours such as sun-thu=10:00-15:00 (weekdays sun to sat; "
                   "several windows with commas; a day with nothing after = does not "
                   "work)."),
        "overlap": _("It overlaps an override already declared: remove that one first."),
        "none_removed": _("None of these days was a holiday."),
        "unknown_override": _("No such override."),
    }


# --- categories -------------------------------------------------------------------------


@voice_admin.get("/categories")
@user_required(ADMIN)
def categories():
    return _categories_page()


@voice_admin.post("/categories")
@user_required(ADMIN)
def save_category():
    values = _form("code", "agency", "name_ar", "name_en", "acknowledge", "answer")
    types = [kind for kind in request.form.getlist("types") if kind in CASE_TYPES]
    data: dict[str, object] = {"agency": values["agency"], "name_ar": values["name_ar"],
                               "name_en": values["name_en"], "types": types,
                               "active": request.form.get("active") == "1"}
    if values["acknowledge"] or values["answer"]:
        data["acknowledge"] = values["acknowledge"] or None
        data["answer"] = values["answer"] or None
    try:
        result = _voice().upsert_category(values["code"], data, actor=g.actor)
    except CoreError as exc:
        return _categories_page(status=_status(exc), values=values, types=types,
                                errors={_category_field(exc): _message(exc)})
    _ = gettext_for(page_language())
    notice = (_("Category %(code)s created.") if result.created
              else _("Category %(code)s saved.")) % {"code": values["code"]}
    return _categories_page(notice=notice, agency=values["agency"])


@voice_admin.post("/policies")
@user_required(ADMIN)
def save_policy():
    values = {**_form("agency", "type"),
              **_form("acknowledge", "answer", prefix="policy-")}
    data: dict[str, object] = {"acknowledge": values["acknowledge"] or None,
                               "answer": values["answer"] or None}
    if values["type"]:
        data["type"] = values["type"]
    try:
        _voice().set_agency_policy(values["agency"], data, actor=g.actor)
    except CoreError as exc:
        field = {"code": "policy-agency", "type": "policy-type"}.get(
            exc.field or "", "policy-acknowledge")
        return _categories_page(status=_status(exc), policy_values=values,
                                errors={field: _message(exc)}, agency=values["agency"])
    _ = gettext_for(page_language())
    return _categories_page(notice=_("The default targets of %(agency)s are saved.")
                            % {"agency": values["agency"]}, agency=values["agency"])


def _category_field(exc: CoreError) -> str:
    field = (exc.field or "").split(".")[0]
    if field in ("agency", "name_ar", "name_en", "types", "acknowledge", "answer"):
        return field
    if exc.code == "category_agency" or exc.code == "unknown_agency":
        return "agency"
    return "code" if field in ("code", "body", "") else field


def _categories_page(status: int = 200, **context) -> Response:
    lang = page_language()
    agency = context.pop("agency", None) or request.args.get("agency", "")[:64] or None
    agencies = _voice().agencies()
    codes = {option.code for option in agencies}
    if agency not in codes:
        agency = None
    rows = _voice().category_rows(agency)
    policies = _voice().agency_policies(agency) if agency else []
    edit = request.args.get("edit") if request.method == "GET" else None
    values = context.pop("values", None)
    types = context.pop("types", None)
    if values is None:
        chosen = next((row for row in rows if row.code == edit), None)
        values = ({"code": chosen.code, "agency": chosen.agency, "name_ar": chosen.name_ar,
                   "name_en": chosen.name_en, "acknowledge": chosen.acknowledge or "",
                   "answer": chosen.answer or "", "active": chosen.active}
                  if chosen else {"agency": agency or "", "active": True})
        types = chosen.types if chosen else list(CASE_TYPES)
    context.setdefault("errors", {})
    context.setdefault("policy_values", {"agency": agency or ""})
    return _page("voice_admin_categories.html", status, rows=rows, agencies=agencies,
                 agency=agency, policies=policies, values=values, types=types,
                 case_types=fmt.type_names(lang), **context)


# --- the calendar ---------------------------------------------------------------------


@voice_admin.get("/calendar")
@user_required(ADMIN)
def calendar():
    return _calendar_page()


@voice_admin.post("/calendar/holidays")
@user_required(ADMIN)
def add_holiday():
    values = _form("first", "through", "name", prefix="holiday-")
    errors: dict[str, str] = {}
    days = _days(values["first"], values["through"], errors, "holiday")
    if days is None:
        return _calendar_page(status=422, holiday_values=values, errors=errors)
    done = _voice().add_holidays(g.actor, days, values["name"])
    _ = gettext_for(page_language())
    return _calendar_page(notice=_("%(added)s day(s) added, %(renamed)s renamed, "
                                   "%(unchanged)s already holidays.")
                          % {"added": done.added, "renamed": done.renamed,
                             "unchanged": done.unchanged})


@voice_admin.post("/calendar/holidays/remove")
@user_required(ADMIN)
def remove_holiday():
    values = _form("first", "through")
    errors: dict[str, str] = {}
    days = _days(values["first"], values["through"], errors, "holiday")
    if days is None:
        return _calendar_page(status=422, errors=errors)
    removed = _voice().remove_holidays(g.actor, days)
    messages = _messages(page_language())
    if not removed:
        return _calendar_page(status=404, errors={"holiday-first": messages["none_removed"]})
    _ = gettext_for(page_language())
    return _calendar_page(notice=_("%(n)s day(s) are working days again.") % {"n": removed})


@voice_admin.post("/calendar/overrides")
@user_required(ADMIN)
def add_override():
    values = _form("first", "through", "name", prefix="override-")
    values["hours"] = request.form.get("override-hours", "").strip()[:500]
    errors: dict[str, str] = {}
    first = _date(values["first"], "override-first", errors)
    last = _date(values["through"], "override-through", errors)
    messages = _messages(page_language())
    try:
        hours = parse_hours(normalize_digits(values["hours"]))
    except CoreError:
        errors["override-hours"] = messages["hours"]
    if errors or first is None or last is None:
        return _calendar_page(status=422, override_values=values, errors=errors)
    try:
        _voice().add_override(g.actor, first, last, hours, values["name"])
    except CoreError as exc:
        field = "override-through" if exc.field == "through" else "override-first"
        message = messages["overlap"] if exc.code == "conflict" else \
            messages["through"] if exc.field == "through" else messages["hours"]
        return _calendar_page(status=_status(exc), override_values=values,
                              errors={field: message})
    _ = gettext_for(page_language())
    return _calendar_page(notice=_("The override is added: a new calendar version is in "
                                   "force."))


@voice_admin.post("/calendar/overrides/<int:override_id>/remove")
@user_required(ADMIN)
def remove_override(override_id: int):
    try:
        gone = _voice().remove_override(g.actor, override_id)
    except CoreError:
        return _calendar_page(status=404, errors={
            "overrides": _messages(page_language())["unknown_override"]})
    _ = gettext_for(page_language())
    return _calendar_page(notice=_("The override %(first)s – %(last)s is removed.")
                          % {"first": gone.first.isoformat(), "last": gone.last.isoformat()})


def _date(text: str, field: str, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(normalize_digits(text))
    except ValueError:
        errors[field] = _messages(page_language())["first"]
        return None


def _days(first_text: str, through_text: str, errors: dict[str, str],
          prefix: str) -> list[date] | None:
    first = _date(first_text, f"{prefix}-first", errors)
    last = _date(through_text, f"{prefix}-through", errors) if through_text else None
    if first is None or errors:
        return None
    try:
        return days_between(first, last)
    except CoreError:
        errors[f"{prefix}-through"] = _messages(page_language())["through"]
        return None


def _calendar_page(status: int = 200, **context) -> Response:
    tz = current_app.extensions["core"].config.tz
    # The past year's holidays too: an admin checks what a case was timed against.
    since = datetime.now(tz) - timedelta(days=365)
    context.setdefault("errors", {})
    context.setdefault("holiday_values", {})
    context.setdefault("override_values", {})
    return _page("voice_admin_calendar.html", status, calendar=_voice().calendar_state(since),
                 **context)


# --- shared ---------------------------------------------------------------------------


def _status(exc: CoreError) -> int:
    return {"not_found": 404, "unknown_agency": 422, "conflict": 409,
            "category_agency": 409}.get(exc.code, 422)


def _message(exc: CoreError) -> str:
    messages = _messages(page_language())
    if exc.code in messages:
        return messages[exc.code]
    field = (exc.field or "").split(".")[0]
    return messages.get(field, messages["code"])


def _page(template: str, status: int, **context) -> Response:
    lang = page_language()
    tz = current_app.extensions["core"].config.tz
    response = current_app.make_response(render_template(
        template, actor=g.actor, home_url=url_for("admin_users.list_users", lang=lang),
        when=lambda at: fmt.moment(at, lang, tz),
        day_text=lambda day: fmt.day_text(day, lang),
        role_label=lambda role: fmt.role_label(role, lang),
        calendar_reason=lambda reason: fmt.calendar_reason(reason, lang),
        target_text=lambda target: fmt.target_text(target, lang), **context))
    response.status_code = status
    return response

