"""The inquiry limits through the API, as a guesser meets them: whatever a number that
exists gets under attack (answers, refusals, their bytes), a number that does not exist
gets too, or the lockout itself would tell which numbers exist."""

from __future__ import annotations

import pytest

from core.access.tokens import create_token
from core.identity.national_id import _luhn_check_digit
from core.transactions.limits import STEP_UP_FACTOR
from tests.gateway.test_api import (  # noqa: F401  (registered, strict_client: fixtures)
    INQUIRIES,
    NUMBER,
    registered,
    strict_client,
)

UNKNOWN = "7654321"
LIMIT = 3  # strict_client's max_failures


def some_id(n: int) -> str:
    """The n-th well-formed national ID (check digit right) nobody has."""
    first9 = f"2{n:08d}"
    return first9 + str(_luhn_check_digit(first9))


def kiosks(core, number: str) -> list[dict[str, str]]:
    """The kiosks an attack on ``number`` guesses from, made before any inquiry (the
    token verifier reads new tokens again only a few times a second)."""
    count = 1 + LIMIT * STEP_UP_FACTOR - LIMIT + 1
    return [{"Authorization": "Bearer " + create_token(core.db.write, "kiosk",
                                                       f"kiosk-{number}-{k}")}
            for k in range(count)]


def attack(client, terminals: list[dict[str, str]], number: str, ids: int,
           lang: str) -> list[tuple[int, bytes]]:
    """Guess national IDs for ``number``: from one kiosk past its limit, then one try from
    each further kiosk until the number is under attack, then two from the last one.
    Each guess's status and body; ``ids`` keeps each attack's IDs apart."""
    guesses = iter(range(ids, ids + 100))

    def guess(auth: dict[str, str]) -> tuple[int, bytes]:
        response = client.post(INQUIRIES, headers=auth, json={
            "number": number, "national_id": some_id(next(guesses)), "lang": lang})
        return response.status_code, response.data

    first, *others, fresh = terminals
    seen = [guess(first) for _ in range(LIMIT + 1)]
    seen += [guess(auth) for auth in others]
    return seen + [guess(fresh), guess(fresh)]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_under_attack_an_unknown_number_is_refused_as_a_known_one(
        registered, strict_client, lang):  # noqa: F811
    terminals = {number: kiosks(registered, number) for number in (NUMBER, UNKNOWN)}
    known = attack(strict_client, terminals[NUMBER], NUMBER, 1000, lang)
    unknown = attack(strict_client, terminals[UNKNOWN], UNKNOWN, 2000, lang)

    # The lockout is reached: the first kiosk past its limit, and the fresh kiosk's second
    # try once the number is under attack (one failure per origin).
    assert [status for status, _ in known] == (
        [200] * LIMIT + [429] + [200] * (LIMIT * STEP_UP_FACTOR - LIMIT) + [200, 429])
    assert unknown == known  # byte for byte, every step
