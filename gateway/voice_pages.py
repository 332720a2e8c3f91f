"""``/voice/``: the staff web app of Citizen's Voice, Arabic first, no script.

Each role has a home: the coordinator's inbox (tabs with bounded counts, a "next page"
link by cursor), the specialist's queue, the agency leader's list of the agency's cases
and leadership's list across agencies (filters: state, category, period, late only, and
for leadership the agency). The case page shows the case as the user may see it, its
history, its clock explained, and a form for each action the core would accept from
this user now; every form posts with its CSRF token and lands back on the page.

An action the core refuses changes nothing and is told on the same page, in the user's
language, with the status the API would give: 403 "not allowed", 409 "the case has
moved on", 422 a field to correct. A case that does not exist and one that is not the
user's are the same 404 page. The gateway holds no session: everything is a call to
``core.voice``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError

from core.access.actors import ADMIN, AGENCY_LEADER, COORDINATOR, LEADERSHIP, SPECIALIST
from core.identity.digits import normalize_digits
from core.platform.errors import CoreError, Forbidden, NotFound, WrongState
from core.platform.i18n import gettext_for
from core.transactions import render
from core.voice.actions import REASON_MAX
from core.voice.cases import TEXT_MAX
from core.voice.desk import CaseDesk, ListQuery
from core.voice.tracking import parse_tracking
from gateway import voice_format as fmt
from gateway.accounts import user_required
from gateway.portal import check_csrf, page_language

voice_pages = Blueprint("voice", __name__, url_prefix="/voice")
voice_pages.before_request(check_csrf)

CASE_ROLES = (COORDINATOR, SPECIALIST, AGENCY_LEADER, LEADERSHIP)
# The fields an action's form may send, each cut to the longest the core accepts + 1
# (so that a longer one is refused by the core, not silently shortened).
FORM_FIELDS = {"agency": 65, "user": 65, "text": TEXT_MAX + 1, "reason": REASON_MAX + 1,
               "into": 41, "department": 65}

MAX_CURSOR = 64


def _core():
    return current_app.extensions["core"]


def _tz():
    return _core().config.tz


# --- homes --------------------------------------------------------------------------------


@voice_pages.get("/")
@user_required()
def home():
    """Each role to its own list."""
    lang = page_language()
    target = {COORDINATOR: "voice.inbox", SPECIALIST: "voice.queue",
              AGENCY_LEADER: "voice.case_list", LEADERSHIP: "voice.case_list"}.get(
        g.actor.role)
    if target is None:
        return redirect(url_for("admin_users.list_users", lang=lang), code=303)
    return redirect(url_for(target, lang=lang), code=303)


@voice_pages.get("/inbox")
@user_required(COORDINATOR)
def inbox():
    tab = request.args.get("tab") or None
    try:
        found = _core().voice.inbox(g.actor, tab, after=_cursor())
    except CoreError as exc:
        return _bad_cursor() if exc.field == "after" else _not_found()
    return _page("voice_inbox.html", inbox=found, tabs=fmt.tab_names(page_language()),
                 rows=found.page.rows)


@voice_pages.get("/queue")
@user_required(SPECIALIST)
def queue():
    try:
        found = _core().voice.queue(g.actor, after=_cursor())
    except CoreError as exc:
        return _bad_cursor() if exc.field == "after" else _not_found()
    return _page("voice_queue.html", queue=found, rows=found.page.rows)


@voice_pages.get("/cases")
@user_required(AGENCY_LEADER, LEADERSHIP)
def case_list():
    lang = page_language()
    values = {name: request.args.get(name, "").strip()[:64]
              for name in ("state", "category", "from", "to", "agency")}
    values["late"] = "1" if request.args.get("late") else ""
    errors: dict[str, str] = {}
    query = ListQuery(state=values["state"] or None, category=values["category"] or None,
                      received_from=_day(values["from"], "from", errors),
                      received_to=_day(values["to"], "to", errors),
                      late=bool(values["late"]),
                      agency=(values["agency"] or None) if g.actor.role == LEADERSHIP
                      else None)
    found = None
    if not errors:
        try:
            found = _core().voice.case_list(g.actor, query, after=_cursor())
        except CoreError as exc:
            if exc.field == "after":
                return _bad_cursor()
            field = {"received_to": "to"}.get(exc.field or "", exc.field or "state")
            errors[field] = _filter_message(exc, lang)
    if found is None:
        found = _core().voice.case_list(g.actor, ListQuery())
        response = _page("voice_list.html", listing=found, rows=[], values=values,
                         errors=errors)
        response.status_code = 422
        return response
    return _page("voice_list.html", listing=found, rows=found.page.rows, values=values,
                 errors=errors)


def _day(text: str, field: str, errors: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(normalize_digits(text))
    except ValueError:
        _ = gettext_for(page_language())
        errors[field] = _("Enter a date such as 2026-11-22.")
        return None


def _filter_message(exc: CoreError, lang: str) -> str:
    _ = gettext_for(lang)
    return {"state": _("Choose a state from the list."),
            "category": _("Choose a category from the list."),
            "agency": _("Choose an agency from the list."),
            "received_to": _("The period ends before it begins.")}.get(
        exc.field or "", _("Check the filters and try again."))


# What a list's link keeps: its tab or filters and the language (``after`` is dropped).
_LIST_ARGS = ("tab", "state", "category", "from", "to", "late", "agency", "lang")


def _bad_cursor() -> Response:
    """Every list answers a page link it did not make (``after=`` edited or cut) alike: a
    422 page in the user's language leading to the list's first page, same filters."""
    _ = gettext_for(page_language())
    args: dict[str, Any] = {key: value[:64] for key, value in request.args.items()
                            if key in _LIST_ARGS}
    return _page("voice_message.html", status=422,
                 title=_("The page link is not valid; start from the first page."),
                 first_page=url_for(request.endpoint or "voice.home", **args))


def _cursor() -> str | None:
    after = request.args.get("after") or None
    return after[:MAX_CURSOR] if after else None


# --- going to a case ------------------------------------------------------------------


@voice_pages.get("/find")
@user_required(*CASE_ROLES)
def find():
    """The search box: a tracking number as typed (Arabic-Indic digits, spaces, dashes)."""
    number = parse_tracking(request.args.get("tracking", "")[:40])
    if number is None:
        return _not_found()
    return redirect(url_for("voice.case", tracking=number, lang=page_language()), code=303)


@voice_pages.get("/cases/<tracking>")
@user_required(*CASE_ROLES)
def case(tracking: str):
    done = request.args.get("done")
    try:
        found = _core().voice.case_desk(g.actor, tracking[:40])
    except NotFound:
        if done and _done_message(done):
            return _left(done)
        return _not_found()
    return _case_page(found, notice=_done_message(done) if done else None)


@voice_pages.get("/transactions/<number>")
@user_required(*CASE_ROLES)
def transaction(number: str):
    """A transaction's page: its stage, dates, timeline and the cases about it, for its
    department's staff, the emirate's coordinators and leadership; for anyone else the
    same 404 as a number that is no transaction."""
    lang = page_language()
    try:
        found = _core().voice.transaction_desk(g.actor, number[:40])
    except (NotFound, CoreError):
        _ = gettext_for(lang)
        return _page("voice_message.html", status=404, title=_("No such transaction"),
                     text=_("No transaction with this number is yours to see. Check the "
                            "number and try again."))
    txn = found.transaction
    return _page("voice_transaction.html", desk=found, txn=txn,
                 stage=render.status_label(txn, lang),
                 stages=[(render.stage_label(step, lang),
                          fmt.moment(step.occurred_at, lang, _tz()))
                         for step in reversed(txn.timeline)])


def _left(action: str) -> Response:
    """After an action that took the case out of the user's sight (routed to another
    agency, sent back to the emirate): done, and gone from their lists. The same page
    whatever the number, so that it tells nothing of a case that is not theirs."""
    _ = gettext_for(page_language())
    return _page("voice_message.html", title=_done_message(action),
                 text=_("The case has left your lists."))


@voice_pages.post("/cases/<tracking>")
@user_required(*CASE_ROLES)
def act(tracking: str):
    lang = page_language()
    action = request.form.get("action", "")[:20]
    body: dict[str, str] = {"action": action}
    for name, limit in FORM_FIELDS.items():
        value = request.form.get(name, "").strip()[:limit]
        if value:
            body[name] = value
    try:
        _core().voice.act(g.actor, tracking[:40], body)
    except NotFound as exc:
        if exc.code == "unknown_case":
            return _not_found()
        return _refused(tracking, action, exc, lang)
    except CoreError as exc:
        return _refused(tracking, action, exc, lang)
    return redirect(url_for("voice.case", tracking=parse_tracking(tracking) or tracking,
                            lang=lang, done=action), code=303)


def _refused(tracking: str, action: str, exc: CoreError, lang: str) -> Response:
    """The case page again, as it stands now, with what was wrong."""
    try:
        found = _core().voice.case_desk(g.actor, tracking[:40])
    except NotFound:  # the action took the case away (it cannot; a race could)
        return _not_found()
    status = 403 if isinstance(exc, Forbidden) else 409 if isinstance(exc, WrongState) \
        or exc.code in ("conflict", "wrong_state", "reopen_window", "already_rated") else 422
    message = _action_message(exc, lang)
    field = exc.field if exc.field in FORM_FIELDS else None
    errors = {f"{action}-{field}" if field else "actions": message}
    response = _case_page(found, errors=errors, failed=action,
                          values={name: request.form.get(name, "")[:limit]
                                  for name, limit in FORM_FIELDS.items()})
    response.status_code = status
    return response


def _action_message(exc: CoreError, lang: str) -> str:
    _ = gettext_for(lang)
    if isinstance(exc, Forbidden):
        return _("You are not allowed to take this action on this case.")
    if isinstance(exc, WrongState) or exc.code in ("wrong_state", "conflict"):
        return _("The case has moved on since the page was shown: see its state and "
                 "history, then try again if it still applies.")
    by_code = {
        "reopen_window": _("The case has moved on since the page was shown: see its "
                           "state and history, then try again if it still applies."),
        "unknown_agency": _("Choose an agency from the list."),
        "same_agency": _("The case is already with this agency: choose another."),
        "own_staff_complaint": _("A complaint about an agency's own staff cannot be "
                                 "routed to that agency."),
        "unknown_specialist": _("Choose an active specialist of this agency."),
        "unknown_department": _("Choose a department from the list."),
        "same_department": _("The case is already there: choose another department."),
        "not_at_emirate": _("Only a case at the emirate goes to one of its departments."),
        "merge_target": _("Enter the tracking number of another open case of the same "
                          "agency."),
    }
    if exc.code in by_code:
        return by_code[exc.code]
    by_field = {
        "reason": _("Give the reason (at most 2000 characters)."),
        "text": _("Write the text (at most 4000 characters)."),
        "user": _("Choose a specialist."),
        "agency": _("Choose an agency."),
        "department": _("Choose a department."),
        "into": _("Enter the tracking number of the case this one duplicates."),
    }
    return by_field.get(exc.field or "", _("This action could not be taken: check the "
                                           "form and try again."))


def _done_message(action: str) -> str | None:
    names = fmt.action_names(page_language())
    if action not in names:
        return None
    _ = gettext_for(page_language())
    return _("Done: %(action)s.") % {"action": names[action]}


@voice_pages.errorhandler(CSRFError)
@user_required(*CASE_ROLES)
def _csrf_failed(_exc: CSRFError):
    _ = gettext_for(page_language())
    notice = _("The form expired before it was sent. Please try again.")
    tracking = (request.view_args or {}).get("tracking")
    if request.endpoint == "voice.act" and tracking:
        try:
            response = _case_page(_core().voice.case_desk(g.actor, tracking[:40]),
                                  errors={"actions": notice})
        except NotFound:
            return _not_found()
        response.status_code = 400
        return response
    return _page("voice_message.html", status=400, title=notice)


# --- rendering ------------------------------------------------------------------------------


def _not_found() -> Response:
    """One page for "no such case" and "not yours": it echoes nothing that was typed."""
    _ = gettext_for(page_language())
    return _page("voice_message.html", status=404, title=_("No such case"),
                 text=_("No case with this tracking number is yours to see. Check the "
                        "number and try again."))


def _case_page(found: CaseDesk, *, errors: dict[str, str] | None = None,
               failed: str | None = None, values: dict[str, str] | None = None,
               notice: str | None = None) -> Response:
    lang = page_language()
    view = found.view
    clock = found.clock
    return _page("voice_case.html", desk=found, case=view, clock=clock,
                 errors=errors or {}, failed=failed, values=values or {}, notice=notice,
                 history=[(entry, fmt.moment(entry.at, lang, _tz()))
                          for entry in reversed(view.history)],
                 target_unit=clock.answer_target[-1:])


def _page(template: str, *, status: int = 200, **context) -> Response:
    lang = page_language()
    tz = _tz()
    response = current_app.make_response(render_template(
        template, actor=g.actor, states=fmt.state_names(lang), types=fmt.type_names(lang),
        channels=fmt.channel_names(lang), actions=fmt.action_names(lang),
        buttons=fmt.action_buttons(lang),
        levels=fmt.escalation_names(lang),
        when=lambda at: fmt.moment(at, lang, tz),
        role_label=lambda role: fmt.role_label(role, lang),
        actor_label=lambda actor, role: fmt.actor_label(actor, role, lang),
        target_text=lambda target: fmt.target_text(target, lang),
        scope_text=lambda scope: fmt.scope_text(scope, lang),
        calendar_reason=lambda reason: fmt.calendar_reason(reason, lang),
        share_text=lambda worked, unit: fmt.share_text(worked, unit, lang),
        home_url=_home_url(), **context))
    response.status_code = status
    return response


def _home_url() -> str:
    lang = page_language()
    role = g.actor.role if g.get("actor") else None
    if role == ADMIN:
        return url_for("admin_users.list_users", lang=lang)
    return url_for("voice.home", lang=lang)
