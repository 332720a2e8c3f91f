"""What an operator reads in the README's operator sections matches what the commands
do: every option of ``gateway users create`` is in the CLI table, the demo's staff
mobiles are the run ``gateway demo-data`` gives, and the citizen-facing code paths say
they need SMS."""

from __future__ import annotations

import re
from pathlib import Path

from core.access.demo import DEMO_STAFF_MOBILES, DEMO_USERS
from gateway.commands.users import users_create

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_the_cli_table_lists_every_option_of_users_create():
    [row] = [line for line in README.splitlines() if line.startswith("| `gateway users create")]
    for option in users_create.params:
        if option.name in ("config_path", "debug"):  # every command's: said once
            continue
        assert any(name in row for name in option.opts), option.opts
    assert "--department CODE" in row


def test_the_demo_staff_mobiles_are_the_ones_the_demo_gives():
    assert len(DEMO_USERS) == len(DEMO_STAFF_MOBILES)
    said = re.search(r"`(05\d{8})` to `(05\d{8})` \(in the order above\)", README)
    assert said and said.groups() == (DEMO_STAFF_MOBILES[0], DEMO_STAFF_MOBILES[-1])
    for user in DEMO_USERS:
        assert f"`{user.login}`" in README, user.login


def test_the_portal_sections_say_codes_need_a_working_sms_channel():
    for heading in ("### Citizen's Voice on the portal", "### My transactions"):
        section = README.split(heading, 1)[1].split("\n### ", 1)[0]
        assert "SMS channel" in section and "sms.enabled: false" in section, heading
