"""What each long-running command says at start: only the channels it runs."""

from __future__ import annotations

import re

from tests import processes


def started(command: str, database_url, tmp_path) -> str:
    port = processes.free_port()
    process = processes.start(command, processes.environment(
        database_url, tmp_path, GATEWAY__GATEWAY__PORT=str(port),
        GATEWAY__SMS__ENABLED="false", GATEWAY__EMAIL__ENABLED="false"))
    try:
        processes.wait_until_serving(process, port)
    finally:
        output = processes.stop(process, timeout=20)
    assert process.returncode == 0, output
    return output


def channel_lines(output: str) -> list[str]:
    return re.findall(r"INFO gateway: (channel \w+: \w+)", output)


def test_gateway_web_names_only_the_ivr_it_answers(database_url, tmp_path, core):
    output = started("web", database_url, tmp_path)

    assert channel_lines(output) == ["channel ivr: disabled"]
    for absent in ("channel sms", "channel email"):
        assert absent not in output


def test_gateway_run_names_every_channel(database_url, tmp_path, core):
    output = started("run", database_url, tmp_path)

    assert channel_lines(output) == ["channel sms: disabled", "channel ivr: disabled",
                                     "channel email: disabled"]
