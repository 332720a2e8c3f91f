"""/healthz's details name the dashboards' refresh as the scheduler records it (its
lease): which scheduler ran it, its last run's figures, and how old the figures the
pages show are; "stale" past three refresh intervals."""

from __future__ import annotations

from datetime import timedelta

from core.platform.db import utcnow
from scheduler import Scheduler
from tests.core.voice.conftest import build_world


def dashboards(client):
    return client.get("/healthz").get_json()["voice"]["dashboards"]


def test_healthz_shows_the_dashboards_refresh_and_its_age(core, client, settings):
    assert dashboards(client) is None  # no scheduler has refreshed them yet
    world = build_world(core)
    world.clock = utcnow() - timedelta(minutes=5)
    world.file("complaint", "MUN")
    scheduler = Scheduler(core, settings)
    assert scheduler.refresh_dashboards() is not None

    shown = dashboards(client)

    assert (shown["holder"], shown["live"], shown["stale"]) == (scheduler.holder, True, False)
    assert shown["cases"] == 1 and shown["complete"] is True and shown["full"] is True
    assert 0 <= shown["as_of_seconds_ago"] <= 30
    assert shown["renewed_seconds_ago"] <= 30
    scheduler.stop()  # gives the lease up
    assert dashboards(client) is None


def test_figures_three_intervals_old_are_stale(core, client, settings):
    interval = settings.scheduler.dashboards_seconds
    old = utcnow() - timedelta(seconds=3 * interval + 60)
    assert core.dashboards.refresh("scheduler@gw-2:7:abc", timedelta(days=1), now=old)

    shown = dashboards(client)

    assert shown["holder"] == "scheduler@gw-2:7:abc" and shown["stale"] is True
    assert shown["as_of_seconds_ago"] > 3 * interval
