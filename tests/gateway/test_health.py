"""/healthz for load balancers, /metrics for Prometheus on the operator's network."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from channels.sms.channel import SmsChannel, Timings
from channels.sms.settings import SmppSettings, SmsSettings
from core.messaging import outbox
from core.platform.db import utcnow
from gateway.app import create_app
from gateway.settings import load_settings
from tests import factories as f
from tests.conftest import NATIONAL_ID_KEY, require_peer
from tests.core.database_checks import statements_sent
from tests.peers.smsc_peer import SmscPeer, smsc_peer_available

NUMBER = "4471234"


def scrape(client) -> dict[tuple[str, frozenset], float]:
    """Every sample of /metrics, parsed as Prometheus text (which also checks the format)."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/plain"
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for s in family.samples}


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def reference(core):
    core.upsert_department("RIGHTS", f.department())
    return core


def app_with(core, database_url, tmp_path, **overrides):
    # make_settings sets gateway.secret_key itself: merge any gateway override into it.
    gateway = {"secret_key": "test-secret", **overrides.pop("gateway", {})}
    settings = load_settings(None, database={"url": database_url}, var_dir=str(tmp_path),
                             security={"national_id_key": NATIONAL_ID_KEY}, gateway=gateway,
                             **overrides)
    app = create_app(settings, core)
    app.config.update(TESTING=True)
    return app.test_client()


# --- /healthz ----------------------------------------------------------------------------


def scheduler_running(core) -> None:
    """A scheduler's heartbeat, as ``gateway scheduler`` keeps it (its scan lease)."""
    from core.platform import leases

    leases.acquire(core.db, "overdue-scan", "scheduler@gw-1:1:abc", timedelta(seconds=60))


def test_healthz_reports_each_component(client):
    # No scheduler runs anywhere: no overdue SMS goes out, and /healthz says so (still 200,
    # "degraded": the web nodes serve; the load balancer must not take them out).
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "degraded",
        "components": {"database": "ok", "schema": "ok", "ivr": "disabled",
                       "scheduler": "missing", "sms": "disabled", "email": "disabled"},
        "background": {
            "scheduler": {"expected": True, "running": False, "heartbeat_age_seconds": None},
            "sms": {"expected": False, "running": False, "heartbeat_age_seconds": None},
            "email": {"expected": False, "running": False, "heartbeat_age_seconds": None}},
        "outbox": {"pending": 0, "sending": 0, "sent": 0, "delivered": 0, "failed": 0,
                   "expired": 0, "retrying": 0},
        # Citizen's Voice's scheduled work: no scheduler has run it yet.
        "voice": {"alarm_scan": None, "closing": None, "recordings": None,
                  "deadline_recompute": {"running": False, "holder": None,
                                         "waiting_version": None},
                  "dashboards": None},
    }
    assert "sms" not in response.get_json()  # no channel runs in this process


def test_healthz_is_ok_while_the_scheduler_runs(core, client):
    scheduler_running(core)

    body = client.get("/healthz").get_json()

    assert body["status"] == "ok"
    assert body["components"]["scheduler"] == "running"
    assert body["background"]["scheduler"]["heartbeat_age_seconds"] <= 5


def test_healthz_shows_the_voice_jobs_of_the_scheduler_that_runs_them(core, client, settings):
    """The alarm scan and the closing of answered cases, each with its holder and last
    run, as a running scheduler leaves them; the public answer stays one query."""
    from scheduler import Scheduler

    scheduler = Scheduler(core, settings)
    alarm_run, closing_run = scheduler.scan_alarms(), scheduler.close_answered()
    assert alarm_run is not None and closing_run is not None
    # Their first run wrote the first calendar version; the scheduler applies it.
    assert scheduler.recompute_deadlines().complete

    voice = client.get("/healthz").get_json()["voice"]

    for job, figures in (("alarm_scan", {"due": 0, "messages": 0, "held": 0}),
                         ("closing", {"closed": 0, "batches": 0})):
        shown = voice[job]
        assert (shown["holder"], shown["live"]) == (scheduler.holder, True), job
        assert shown["renewed_seconds_ago"] <= 5
        assert shown["last_scan_at" if job == "alarm_scan" else "last_run_at"]
        assert figures.items() <= shown.items(), (job, shown)
    assert voice["deadline_recompute"] == {"running": False, "holder": None,
                                           "waiting_version": None}
    assert client.get("/healthz", environ_base=STRANGER).get_json() == {"status": "ok"}

    scheduler.stop()  # gives the leases up
    voice = client.get("/healthz").get_json()["voice"]
    assert (voice["alarm_scan"], voice["closing"]) == (None, None)


def test_healthz_shows_a_recompute_waiting_and_the_one_running(core, client):
    """A holiday declared: a new calendar version waits for the open cases' retiming;
    while a scheduler retimes them, its lease names it; afterwards nothing waits."""
    from datetime import date

    from core.calendar import holidays
    from core.platform import leases

    holidays.add(core.db, [date(2031, 1, 5)], "test", core.config)
    waiting = client.get("/healthz").get_json()["voice"]["deadline_recompute"]
    assert waiting["running"] is False and isinstance(waiting["waiting_version"], int)

    holder = "scheduler@gw-2:7:abc"
    leases.acquire(core.db, "deadline-recompute", holder, timedelta(seconds=60))
    assert client.get("/healthz").get_json()["voice"]["deadline_recompute"] == {
        "running": True, "holder": holder, "waiting_version": waiting["waiting_version"]}
    leases.release(core.db, "deadline-recompute", holder)

    assert core.upkeep.recompute_deadlines("scheduler@gw-3:8:def", timedelta(seconds=60),
                                           now=utcnow()).complete
    assert client.get("/healthz").get_json()["voice"]["deadline_recompute"] == {
        "running": False, "holder": None, "waiting_version": None}


def test_healthz_has_no_voice_section_when_voice_is_off(core, client):
    core.config = core.config.model_copy(update={"voice": core.config.voice.model_copy(
        update={"enabled": False})})
    assert "voice" not in client.get("/healthz").get_json()


def test_healthz_counts_the_messages_waiting_in_the_outbox(reference, client):
    reference.record_event(f.registered(NUMBER, "2025-11-23T09:15:00+03:00"))
    reference.record_event(f.registered("5550001", "2025-11-23T09:20:00+03:00",
                                        mobile=None))

    states = client.get("/healthz").get_json()["outbox"]
    assert (states["pending"], states["retrying"], states["sent"]) == (1, 0, 0)


def test_healthz_shows_the_channels_configured(core, database_url, tmp_path):
    # Enabled but running nowhere (no heartbeat): missing, not "enabled".
    client = app_with(core, database_url, tmp_path, sms={"enabled": True},
                      email={"enabled": True}, ivr={"enabled": True})
    scheduler_running(core)

    body = client.get("/healthz").get_json()

    components = body["components"]
    assert (components["sms"], components["ivr"], components["email"]) == (
        "missing", "enabled", "missing")
    assert body["status"] == "degraded"
    assert body["background"]["sms"]["expected"] and body["background"]["email"]["expected"]


def test_healthz_is_503_when_the_database_does_not_answer(core, client, tmp_path, monkeypatch):
    unreachable = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'gateway.db'}")
    monkeypatch.setattr(core.db, "read", sessionmaker(unreachable))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable",
                                   "components": {"database": "down"}}
    unreachable.dispose()


STRANGER = {"REMOTE_ADDR": "8.8.8.8"}


def test_healthz_answers_anyone(client):
    # The details above come from the test client's 127.0.0.1, in the operator's network.
    response = client.get("/healthz", environ_base=STRANGER)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_a_strangers_healthz_names_no_host_no_holder_and_no_count(reference, core, client):
    from core.platform import leases

    holder = "sms@gw-7.internal:4242:abc"
    leases.acquire(core.db, f"sms:{holder}", holder, timedelta(seconds=90),
                   state={"bound": True, "smsc": "smsc.internal:2775"})
    reference.record_event(f.registered(NUMBER, "2025-11-23T09:15:00+03:00"))
    assert client.get("/healthz").get_json()["outbox"]["pending"] == 1  # the operator's

    body = client.get("/healthz", environ_base=STRANGER).get_data(as_text=True)

    assert body.strip() == '{"status":"ok"}'
    for secret in ("smsc.internal", "gw-7", "pending", "outbox", "components", "1"):
        assert secret not in body


def test_a_strangers_healthz_costs_one_query(core, client):
    from sqlalchemy import event

    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        if statement.split()[0].upper() not in ("BEGIN", "ROLLBACK", "COMMIT"):
            statements.append(statement)

    event.listen(core.db.engine, "before_cursor_execute", seen)
    try:
        assert client.get("/healthz", environ_base=STRANGER).status_code == 200
    finally:
        event.remove(core.db.engine, "before_cursor_execute", seen)

    assert statements == ["SELECT 1"]


def test_the_schema_head_is_read_once_per_process_not_per_hit(client, monkeypatch):
    from alembic.script import ScriptDirectory

    client.get("/healthz")  # the head, once for the process

    def read(*_args, **_kwargs):
        raise AssertionError("Alembic's script directory read again")

    monkeypatch.setattr(ScriptDirectory, "from_config", read)
    for _ in range(3):
        assert client.get("/healthz").get_json()["components"]["schema"] == "ok"


def test_the_details_read_the_leases_once_per_hit(core, client):
    """Every component, the mail poller and the voice jobs are shown from one read of the
    leases, in one read transaction: a hit costs the same however many leases exist."""
    with statements_sent(core.db.engine, lambda sql: "FROM leases" in sql) as sent:
        details = client.get("/healthz").get_json()

    assert "voice" in details and "background" in details
    assert len(sent) == 1


def test_a_staff_token_reads_the_details_from_anywhere(client, staff_auth, kiosk_auth):
    staff = client.get("/healthz", environ_base=STRANGER, headers=staff_auth).get_json()
    kiosk = client.get("/healthz", environ_base=STRANGER, headers=kiosk_auth).get_json()
    forged = client.get("/healthz", environ_base=STRANGER,
                        headers={"Authorization": "Bearer gw_" + "x" * 43}).get_json()

    assert staff["components"]["database"] == "ok" and "outbox" in staff
    assert kiosk == forged == {"status": "ok"}


def test_a_strangers_healthz_is_503_without_details_when_the_database_does_not_answer(
        core, client, tmp_path, monkeypatch):
    unreachable = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'gateway.db'}")
    monkeypatch.setattr(core.db, "read", sessionmaker(unreachable))

    response = client.get("/healthz", environ_base=STRANGER)

    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}
    unreachable.dispose()


# --- /metrics ----------------------------------------------------------------------------


def test_metrics_count_inquiries_by_channel_and_outcome(reference, client, kiosk_auth,
                                                        staff_auth):
    reference.record_event(f.registered(NUMBER, "2025-11-23T09:15:00+03:00"))
    before = scrape(client)

    client.post("/api/v1/inquiries", json={"number": NUMBER, "national_id": f.NATIONAL_ID},
                headers=kiosk_auth)
    client.post("/api/v1/inquiries", json={"number": "7654321", "national_id": f.NATIONAL_ID},
                headers=staff_auth)
    client.post("/api/v1/inquiries", json={"number": "مرحبا", "national_id": f.NATIONAL_ID},
                headers=staff_auth)
    after = scrape(client)

    def grew(**labels):
        return value(after, "gateway_inquiries_total", **labels) - value(
            before, "gateway_inquiries_total", **labels)

    assert grew(channel="kiosk", outcome="found") == 1
    assert grew(channel="api", outcome="not_found") == 1
    assert grew(channel="api", outcome="invalid") == 1
    assert grew(channel="kiosk", outcome="not_found") == 0
    assert value(after, "gateway_inquiry_seconds_count", channel="kiosk") - value(
        before, "gateway_inquiry_seconds_count", channel="kiosk") == 1


def test_metrics_count_events_by_type_and_result(reference, client, records_auth):
    registration = f.registered(NUMBER, "2025-11-23T09:15:00+03:00")
    before = scrape(client)

    client.post("/api/v1/events", json=registration, headers=records_auth)
    client.post("/api/v1/events", json=registration, headers=records_auth)
    client.post("/api/v1/events", json=f.event("referred", NUMBER, "2025-11-23T10:00:00+03:00",
                                               department="NOPE"), headers=records_auth)
    after = scrape(client)

    def grew(**labels):
        return value(after, "gateway_events_total", **labels) - value(
            before, "gateway_events_total", **labels)

    assert grew(type="registered", result="applied") == 1
    assert grew(type="registered", result="duplicate") == 1
    assert grew(type="referred", result="unknown_department") == 1


def test_metrics_give_the_outbox_depth_by_status(reference, client):
    reference.record_event(f.registered(NUMBER, "2025-11-23T09:15:00+03:00"))
    reference.record_event(f.registered("5550001", "2025-11-23T09:20:00+03:00",
                                        mobile=f.OTHER_MOBILE))

    samples = scrape(client)

    assert value(samples, "gateway_outbox_messages", status="pending") == 2
    assert ("gateway_outbox_messages", frozenset({("status", "sent")})) not in samples


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_metrics_are_served_to_the_operators_network(client, address):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": address})

    assert response.status_code == 200
    assert b"gateway_inquiries" in response.data


# The private ranges too: a load balancer's address is one, and with trusted_proxies left
# at 0 every citizen's request would come from it.
@pytest.mark.parametrize("address", ["8.8.8.8", "172.32.0.1", "2001:db8::1", "not-an-ip", "",
                                     "10.1.2.3", "172.16.5.4", "192.168.1.20"])
def test_metrics_are_refused_elsewhere(client, address):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": address})

    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert b"gateway_inquiries" not in response.data


def test_the_metrics_networks_come_from_the_settings(core, database_url, tmp_path):
    client = app_with(core, database_url, tmp_path,
                      gateway={"metrics_networks": ["203.0.113.0/24"]})

    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code \
        == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 403


# --- outbox states and the SMS channel ---------------------------------------------------


def _retry_one(core, reason: str = "ESME_RTHROTTLED") -> None:
    (claimed,) = outbox.claim_due(core.db, limit=1)
    assert outbox.mark_retry(core.db, claimed.id, reason, utcnow() + timedelta(hours=1))


def _fail_one(core, reason: str) -> None:
    (claimed,) = outbox.claim_due(core.db, limit=1)
    assert outbox.mark_failed(core.db, claimed.id, reason)


def test_healthz_and_metrics_count_messages_waiting_for_a_retry(reference, client):
    reference.record_event(f.registered(NUMBER, "2025-11-23T09:15:00+03:00"))
    reference.record_event(f.registered("5550001", "2025-11-23T09:20:00+03:00",
                                        mobile=f.OTHER_MOBILE))
    reference.record_event(f.registered("5550002", "2025-11-23T09:25:00+03:00",
                                        mobile=f.OTHER_MOBILE))
    _retry_one(reference)
    _fail_one(reference, "refused: ESME_RINVDSTADR")

    states = client.get("/healthz").get_json()["outbox"]
    samples = scrape(client)

    # "retrying" is the part of "pending" already tried once.
    assert (states["pending"], states["retrying"], states["failed"], states["sending"]) == (
        2, 1, 1, 0)
    assert value(samples, "gateway_outbox_messages", status="pending") == 2
    assert value(samples, "gateway_outbox_messages", status="failed") == 1
    assert value(samples, "gateway_outbox_retrying_messages") == 1


@pytest.mark.parametrize("bound", [True, False])
def test_healthz_shows_the_bind_of_the_channel_running_beside_the_web_server(core, app,
                                                                            bound):
    # `gateway run`: the channel runs in the background worker, this is a web worker; its
    # heartbeat is the one of the two live channels it is told to read.
    from channels.sms.heartbeat import heartbeat_name
    from core.platform import leases

    beside, elsewhere = "sms@gw-1:41:beside", "sms@gw-2:42:other"
    for holder, state in ((beside, bound), (elsewhere, not bound)):
        leases.acquire(core.db, heartbeat_name(holder), holder, timedelta(seconds=90),
                       state={"bound": state})
    app.extensions["sms_holder"] = lambda: beside
    scheduler_running(core)

    body = app.test_client().get("/healthz").get_json()

    assert body["sms"] == {"bound": bound}
    assert body["status"] == "ok"  # the web side stays in service while the SMSC is away


def test_healthz_says_unbound_before_the_channel_beside_it_beats_and_once_it_lapsed(
        core, app):
    from channels.sms.heartbeat import heartbeat_name
    from core.platform import leases

    holder: list[str | None] = [None]
    app.extensions["sms_holder"] = lambda: holder[0]
    client = app.test_client()
    assert client.get("/healthz").get_json()["sms"] == {"bound": False}

    holder[0] = "sms@gw-1:41:lapsed"
    leases.acquire(core.db, heartbeat_name(holder[0]), holder[0], timedelta(seconds=90),
                   now=utcnow() - timedelta(seconds=100), state={"bound": True})

    assert client.get("/healthz").get_json()["sms"] == {"bound": False}


def test_the_database_clock_is_the_statements_time_on_postgresql_not_the_transactions(core):
    from sqlalchemy.dialects import postgresql

    from core.operations.health import database_clock, database_clock_query

    query = str(database_clock_query("postgresql").compile(dialect=postgresql.dialect()))
    assert "statement_timestamp()" in query and "CURRENT_TIMESTAMP" not in query
    with core.db.read() as session:
        assert abs((database_clock(session) - utcnow()).total_seconds()) < 5


def test_healthz_shows_how_long_ago_each_sms_channel_renewed_its_heartbeat(core, client):
    # A channel that died 40 s ago still shows live (its lease runs for 90 s after its last
    # renewal); the renewal's age, on the database's clock, tells it has stopped.
    from core.platform import leases

    lifetime = timedelta(seconds=90)
    silent, fresh = "sms@a:1:silent", "sms@b:2:fresh"
    leases.acquire(core.db, f"sms:{silent}", silent, lifetime,
                   now=utcnow() - timedelta(seconds=40), state={"bound": True})
    leases.acquire(core.db, f"sms:{fresh}", fresh, lifetime, state={"bound": True})

    channels = {c["holder"]: c for c in client.get("/healthz").get_json()["sms_channels"]}

    assert channels[silent]["live"] and channels[fresh]["live"]
    assert 38 <= channels[silent]["renewed_seconds_ago"] <= 45
    assert channels[fresh]["renewed_seconds_ago"] <= 5
    assert channels[silent]["lifetime_seconds"] == 90.0


def test_metrics_describe_the_sms_channel(client):
    samples = scrape(client)

    assert ("gateway_sms_bound", frozenset()) in samples
    for result in ("sent", "retry", "failed"):
        assert ("gateway_sms_submits_total", frozenset({("result", result)})) in samples
    assert ("gateway_sms_segments_sent_total", frozenset()) in samples
    assert ("gateway_sms_mo_received_total", frozenset({("result", "stored")})) in samples


def test_a_running_channel_shows_its_bind_and_traffic(reference, app):
    available, _why = smsc_peer_available()
    require_peer(available, "the SMSC peer (npm smpp)")
    client = app.test_client()
    reference.record_event(f.registered(NUMBER, "2025-11-23T09:15:00+03:00"))
    before = scrape(client)
    with SmscPeer() as smsc:
        sms = SmsSettings(enabled=True, smpp=SmppSettings(
            host=smsc.host, port=smsc.port, system_id=smsc.system_id,
            password=smsc.password, window=10, throughput_per_second=500))
        channel = SmsChannel(reference, sms, timings=Timings(
            poll_interval=0.05, reconnect_delay=0.2, reconnect_max=1.0,
            response_timeout=5.0))
        channel.start()
        try:
            assert channel.session.wait_bound(10)
            app.extensions["sms_holder"] = lambda: channel.heartbeat.holder
            deadline = time.monotonic() + 15
            # The heartbeat beats as soon as the bind is up: /healthz reads it.
            while client.get("/healthz").get_json()["sms"] != {"bound": True}:
                assert time.monotonic() < deadline, "the bind was never recorded"
                time.sleep(0.05)
            while client.get("/healthz").get_json()["outbox"]["sent"] + client.get(
                    "/healthz").get_json()["outbox"]["delivered"] < 1:
                assert time.monotonic() < deadline, "the message was not sent"
                time.sleep(0.05)
            # The heartbeat that records the bind is written by its own thread, which may
            # come after the first submit: wait for it (any machine's /metrics reads it).
            during = scrape(client)
            while value(during, "gateway_sms_bound") != 1:
                assert time.monotonic() < deadline, "the bind was never recorded"
                time.sleep(0.05)
                during = scrape(client)
        finally:
            channel.stop()
    after = scrape(client)

    def grew(name, **labels):
        return value(during, name, **labels) - value(before, name, **labels)

    assert value(during, "gateway_sms_bound") == 1
    assert grew("gateway_sms_binds_total") >= 1
    assert grew("gateway_sms_submits_total", result="sent") == 1
    assert grew("gateway_sms_segments_sent_total") >= 1
    assert value(after, "gateway_sms_bound") == 0
    assert client.get("/healthz").get_json()["sms"] == {"bound": False}
