"""``gateway token list``: who holds access, for an audit; and the last use it shows,
recorded cheaply (at most once a minute per token and process)."""

from __future__ import annotations

import re

from sqlalchemy import event

from core.access.tokens import TokenVerifier, create_token, token_hash
from tests import factories as f
from tests.gateway.test_cli import gateway  # noqa: F401  (the fixture)

WHEN = r"\d{4}-\d\d-\d\d \d\d:\d\dZ"


def test_token_list_shows_name_role_created_last_used_and_revoked(gateway, app):  # noqa: F811
    made = {name: gateway("token", "create", "--role", role, "--name", name)
            .output.strip().splitlines()[-1]
            for name, role in (("kiosk-airport-3", "kiosk"), ("records-system", "records"),
                               ("old-kiosk", "kiosk"))}
    app.test_client().post("/api/v1/inquiries", json={"number": "4471234",
                           "national_id": f.NATIONAL_ID},
                           headers={"Authorization": f"Bearer {made['kiosk-airport-3']}"})
    gateway("token", "revoke", "--name", "old-kiosk")

    listed = gateway("token", "list")

    assert listed.exit_code == 0, listed.output
    header, *rows = listed.output.splitlines()
    assert header.split() == ["NAME", "ROLE", "CREATED", "LAST", "USED", "REVOKED"]
    assert re.fullmatch(rf"kiosk-airport-3 +kiosk +{WHEN} +{WHEN} +-", rows[0])
    assert re.fullmatch(rf"records-system +records +{WHEN} +never +-", rows[1])
    assert re.fullmatch(rf"old-kiosk +kiosk +{WHEN} +never +{WHEN}", rows[2])
    for value in made.values():
        for secret in (value, value[3:13], token_hash(value), token_hash(value)[:12]):
            assert secret not in listed.output


def test_token_list_with_no_tokens_says_how_to_make_one(gateway):  # noqa: F811
    listed = gateway("token", "list")

    assert listed.exit_code == 0
    assert "gateway token create" in listed.output


def updates_of_api_tokens(core):
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_TOKENS"):
            seen.append(statement)

    event.listen(core.db.engine, "before_cursor_execute", note)
    return seen, lambda: event.remove(core.db.engine, "before_cursor_execute", note)


def test_the_last_use_is_written_at_most_once_a_minute_per_token(core):
    value = create_token(core.db.write, "kiosk", "kiosk-1")
    other = create_token(core.db.write, "staff", "clerk")
    now = [1000.0]
    verifier = TokenVerifier(core.db.read, writes=core.db.write, clock=lambda: now[0])
    seen, stop = updates_of_api_tokens(core)
    try:
        for _ in range(200):
            assert verifier.verify(value) is not None
        assert verifier.verify(other) is not None
        assert len(seen) == 2  # one per token
        now[0] += 59
        verifier.verify(value)
        assert len(seen) == 2
        now[0] += 2
        verifier.verify(value)
        assert len(seen) == 3
        verifier.verify("gw_" + "x" * 43)  # refused: nothing recorded
        assert len(seen) == 3
    finally:
        stop()


def test_a_failed_write_of_the_last_use_does_not_refuse_the_token(core, tmp_path, caplog):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    value = create_token(core.db.write, "kiosk", "kiosk-1")
    unreachable = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    verifier = TokenVerifier(core.db.read, writes=sessionmaker(unreachable))

    assert verifier.verify(value) is not None
    assert "could not record the use of token 'kiosk-1'" in caplog.text
    unreachable.dispose()
