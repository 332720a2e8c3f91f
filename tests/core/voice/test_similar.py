"""Similar open cases of the agency, suggested to the coordinator who may merge: Arabic
spellings that differ only in alef forms, ta marbuta, alef maqsura, tatweel and
diacritics match; unrelated texts, other agencies' cases and closed ones never do; and
nobody else is shown any. On SQLite the Python measure; marked postgres, PostgreSQL's
(pg_trgm where it reads Arabic, else the same Python measure)."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from core.identity.arabic import fold
from core.platform import migrate
from core.platform.db import Database
from core.platform.errors import NotFound
from core.voice import similar
from core.voice.models import VoiceCase
from gateway.bootstrap import build_core
from tests.conftest import make_settings
from tests.core.voice.conftest import HEALTH, MUN, build_world

WRITTEN = "الرصيف مكسور أمام المدرسة الابتدائية في حي النزهة"
# The same report typed otherwise: alef forms, ha for ta marbuta, alef maqsura for ya,
# diacritics, tatweel.
RETYPED = "الرَّصيف مكسـور امام المدرسه الإبتدائيّة فى حيّ النزهة"
UNRELATED = "تأخر إصدار رخصة البناء ثلاثة أشهر دون رد"


def file(world, words: str, agency: str = MUN) -> str:
    return world.voice.file_case({
        "type": "complaint", "text": words, "channel": "api", "lang": "ar",
        "agency": agency, "citizen": {"mobile": "0551234567"}}, now=world.tick()).tracking


def suggested(world, tracking: str, user: str = "coord_MUN") -> list[str]:
    return [other.tracking for other in
            world.voice.case_desk(world.users[user], tracking).similar]


def test_the_measure_folds_arabic_spellings():
    assert fold(WRITTEN) == fold(RETYPED)
    assert similarity_of(WRITTEN, RETYPED) == 1.0
    assert similarity_of(WRITTEN, UNRELATED) < similar.THRESHOLD
    assert similarity_of("الرصيف مكسور أمام المدرسة", WRITTEN) >= similar.THRESHOLD
    assert similar.similarity("", WRITTEN) == 0.0


def similarity_of(first: str, second: str) -> float:
    return similar.similarity(fold(first), fold(second))


def test_a_retyped_report_is_suggested_and_an_unrelated_one_is_not(world):
    first = file(world, WRITTEN)
    unrelated = file(world, UNRELATED)
    again = file(world, RETYPED)
    assert suggested(world, again) == [first]
    assert unrelated not in suggested(world, again)
    assert suggested(world, unrelated) == []
    [shown] = world.voice.case_desk(world.coordinator(MUN), again).similar
    assert shown.score == 1.0 and shown.excerpt == WRITTEN and shown.state == "received"


def test_other_agencies_and_closed_cases_are_never_suggested(world):
    elsewhere = file(world, WRITTEN, agency=HEALTH)
    closed = file(world, WRITTEN)
    world.act(world.coordinator(MUN), closed, "close", reason="عولجت")
    answered = world.walk("complaint", "answered", text=WRITTEN)
    again = file(world, RETYPED)
    found = suggested(world, again)
    assert elsewhere not in found and closed not in found and answered not in found
    assert found == []


def test_only_a_user_who_may_merge_is_shown_suggestions(world):
    file(world, WRITTEN)
    again = file(world, RETYPED)
    world.act(world.coordinator(MUN), again, "assign", user=world.specialist(MUN).login)
    assert suggested(world, again, "coord_MUN")
    for user in ("spec_MUN", "leader_MUN", "leadership"):
        assert suggested(world, again, user) == [], user
    for user in ("coord_HEALTH", "spec_HEALTH", "leader_HEALTH"):
        with pytest.raises(NotFound):
            world.voice.case_desk(world.users[user], again)


def test_cases_filed_before_the_folded_column_are_matched_by_their_text(world, core):
    first = file(world, WRITTEN)
    with core.db.write.begin() as session:
        session.execute(text("UPDATE voice_cases SET text_folded = NULL"))
    again = file(world, RETYPED)
    world.voice._database_trigrams = False  # the Python measure reads the text itself
    assert suggested(world, again) == [first]


@pytest.mark.postgres
def test_postgresql_suggests_the_same(world, core):
    """On PostgreSQL: pg_trgm's similarity where the database reads Arabic (a UTF-8
    LC_CTYPE), else the Python measure; the same suggestions either way."""
    first = file(world, WRITTEN)
    file(world, UNRELATED)
    file(world, WRITTEN, agency=HEALTH)
    again = file(world, RETYPED)
    assert suggested(world, again) == [first]
    with core.db.read() as session:
        in_database = similar.database_trigrams(session)
        row = session.scalar(select(VoiceCase).where(VoiceCase.tracking == again))
        python = similar.suggest(session, row, in_database=False)
        assert [other.tracking for other in python] == [first]
        if in_database:
            sql = similar.suggest(session, row, in_database=True)
            assert [(o.tracking, o.score) for o in sql] == \
                [(o.tracking, o.score) for o in python]


@pytest.mark.postgres
def test_pg_trgm_reads_arabic_in_a_utf8_database(database_url, tmp_path):
    """pg_trgm itself, in a database whose LC_CTYPE is C.UTF-8 (the test cluster's own is
    "C", where pg_trgm sees no Arabic word): the migration made the GIN trigram index, the
    database computes the suggestions, and they are the Python measure's."""
    admin = Database(database_url)
    name = "gateway_trgm_check"
    try:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE template0 "
                                 "ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
        url = admin.engine.url.set(database=name).render_as_string(hide_password=False)
        utf8 = Database(url)
        migrate.upgrade(utf8.engine)
        utf8.dispose()
        core = build_core(make_settings(url, tmp_path), background_log=False)
        try:
            world = build_world(core)
            first = file(world, WRITTEN)
            file(world, UNRELATED)
            again = file(world, RETYPED)
            with core.db.read() as session:
                assert similar.database_trigrams(session)
                row = session.scalar(select(VoiceCase).where(VoiceCase.tracking == again))
                sql = similar.suggest(session, row, in_database=True)
                python = similar.suggest(session, row, in_database=False)
                assert [(o.tracking, o.score) for o in sql] == \
                    [(o.tracking, o.score) for o in python] == [(first, 1.0)]
                assert "ix_voice_cases_text_trgm" in session.execute(text(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'voice_cases'"
                )).scalars().all()
            assert suggested(world, again) == [first]
        finally:
            core.close()
    finally:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def test_the_migration_folds_the_cases_filed_before_it(world, core):
    """b6e4d2f8a915 fills ``text_folded`` of the cases already there."""
    first = file(world, RETYPED)
    try:
        before = ScriptDirectory.from_config(migrate._config(None)).get_revision(
            "b6e4d2f8a915")
        migrate.downgrade(core.db.write_engine, before.down_revision)
    finally:
        migrate.upgrade(core.db.write_engine)
    with core.db.read() as session:
        stored = session.scalar(select(VoiceCase.text_folded)
                                .where(VoiceCase.tracking == first))
    assert stored == fold(RETYPED) == fold(WRITTEN)
