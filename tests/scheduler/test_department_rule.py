"""A department's overdue rule through the records API: its period and how it counts."""

from __future__ import annotations

from sqlalchemy import select

from core.directory.models import Department
from tests import factories as f


def test_a_department_counts_working_days_when_the_records_system_says(client, core,
                                                                       records_auth):
    response = client.put("/api/v1/departments/RIGHTS", headers=records_auth,
                          json=f.department(reply_days=7, reply_day_count="working"))
    assert response.status_code in (200, 201)
    with core.db.read() as session:
        department = session.scalar(select(Department))
    assert (department.reply_days, department.reply_day_count) == (7, "working")


def test_an_unknown_day_count_is_refused_and_changes_nothing(client, core, records_auth):
    response = client.put("/api/v1/departments/RIGHTS", headers=records_auth,
                          json=f.department(reply_day_count="weekly"))
    assert response.status_code == 422  # as for any invalid field
    assert response.get_json()["error"]["code"]
    with core.db.read() as session:
        assert session.scalar(select(Department)) is None
