"""Categories and deadline policies: upserted, superseded (never edited), and the one a
new case is timed with."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.platform.errors import Conflict, InvalidRequest, NotFound
from core.voice.models import DeadlinePolicy, VoiceCase, VoiceCategory
from tests.core.voice.conftest import HEALTH, MUN

ROADS = {"agency": MUN, "name_ar": "الطرق", "name_en": "Roads",
         "types": ["complaint", "suggestion"], "acknowledge": "1d", "answer": "10d"}


def policies(core):
    with core.db.read() as session:
        return [(p.agency_id, p.category_id, p.case_type, p.acknowledge_value,
                 p.acknowledge_unit, p.answer_value, p.answer_unit, p.superseded_at is None)
                for p in session.scalars(select(DeadlinePolicy).where(
                    DeadlinePolicy.agency_id.is_not(None)).order_by(DeadlinePolicy.id))]


def test_a_category_and_its_targets(world):
    first = world.voice.upsert_category("roads", ROADS)
    assert first.created and first.policy_id
    again = world.voice.upsert_category("roads", {**ROADS, "name_en": "Roads and streets"})
    assert not again.created and again.policy_id is None  # same targets: no new row
    changed = world.voice.upsert_category("roads", {**ROADS, "name_en": "Roads and streets",
                                                    "answer": "١٤d"})
    with world.core.db.read() as session:
        category = session.scalar(select(VoiceCategory).where(VoiceCategory.code == "roads"))
    assert category.name_en == "Roads and streets"
    mun = world.agencies[MUN]
    assert policies(world.core) == [
        (mun, category.id, None, 1, "d", 10, "d", False),
        (mun, category.id, None, 1, "d", 14, "d", True),
    ]
    tracking = world.file(category="roads")
    with world.core.db.read() as session:
        case = session.scalar(select(VoiceCase).where(VoiceCase.tracking == tracking))
    assert case.policy_id == changed.policy_id


def test_an_agencys_default_policy_applies_without_a_category_policy(world):
    view = world.voice.set_agency_policy(MUN, {"acknowledge": "4h", "answer": "5d"})
    assert (view.agency, view.case_type, view.acknowledge, view.answer) == \
        (MUN, None, "4h", "5d")
    only_suggestions = world.voice.set_agency_policy(
        MUN, {"acknowledge": "1d", "answer": "20d", "type": "suggestion"})
    assert [p.answer for p in world.voice.agency_policies(MUN)] == ["5d", "20d"]

    def policy_of(tracking):
        with world.core.db.read() as session:
            return session.scalar(select(VoiceCase.policy_id)
                                  .where(VoiceCase.tracking == tracking))

    assert policy_of(world.file("complaint")) == view.id
    assert policy_of(world.file("suggestion")) == only_suggestions.id


@pytest.mark.parametrize(("change", "error"), [
    ({"agency": "NOPE"}, NotFound),
    ({"types": []}, InvalidRequest),
    ({"types": ["complaint", "complaint"]}, InvalidRequest),
    ({"types": ["praise"]}, InvalidRequest),
    ({"acknowledge": "0d"}, InvalidRequest),
    ({"answer": "10w"}, InvalidRequest),
    ({"answer": None}, InvalidRequest),  # acknowledge without answer
    ({"name_ar": ""}, InvalidRequest),
])
def test_bad_categories_are_refused(world, change, error):
    with pytest.raises(error):
        world.voice.upsert_category("roads", {**ROADS, **change})
    assert policies(world.core) == []


def test_a_category_stays_with_its_agency(world):
    world.voice.upsert_category("roads", ROADS)
    with pytest.raises(Conflict):
        world.voice.upsert_category("roads", {**ROADS, "agency": HEALTH})


def test_bad_policies_are_refused(world):
    for agency, body in (("NOPE", {"acknowledge": "1d", "answer": "2d"}),
                         (MUN, {}), (MUN, {"acknowledge": "1d", "answer": "2x"}),
                         ("bad code!", {"acknowledge": "1d", "answer": "2d"})):
        with pytest.raises((InvalidRequest, NotFound)):
            world.voice.set_agency_policy(agency, body)
    assert policies(world.core) == []
