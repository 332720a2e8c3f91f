"""docs/systemd: a unit per component that runs the real command, restarts it whatever
ended it (a start refused while the database was away too: no start limit), reads its
secrets from an EnvironmentFile, and is hardened; systemd itself accepts each one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from core.platform.settings import REPO_ROOT
from gateway.cli import main
from tests.conftest import require_peer

UNITS = REPO_ROOT / "docs" / "systemd"
COMMANDS = {"gateway-web": "web", "gateway-sms": "sms", "gateway-email": "email",
            "gateway-scheduler": "scheduler"}
EXECUTABLE = "/opt/gateway/.venv/bin/gateway"


def parse(path: Path) -> dict[str, dict[str, list[str]]]:
    """The unit's sections, each key with its values in order (a key may repeat)."""
    sections: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    section = ""
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _sep, value = line.partition("=")
        sections[section][key].append(value)
    return sections


def test_there_is_a_unit_for_each_component_and_no_other():
    assert {path.stem for path in UNITS.glob("*.service")} == set(COMMANDS)


@pytest.mark.parametrize("unit", sorted(COMMANDS))
def test_each_unit_runs_its_command_restarted_with_secrets_apart_and_hardened(unit):
    sections = parse(UNITS / f"{unit}.service")
    service = sections["Service"]

    assert service["ExecStart"] == [f"{EXECUTABLE} {COMMANDS[unit]}"]
    assert COMMANDS[unit] in main.commands
    assert service["Restart"] == ["always"]
    assert sections["Unit"]["StartLimitIntervalSec"] == ["0"]
    assert service["EnvironmentFile"] == ["/etc/gateway/gateway.env"]
    assert "GATEWAY_CONFIG=/etc/gateway/config.yaml" in service["Environment"]
    assert "GATEWAY__VAR_DIR=/var/lib/gateway" in service["Environment"]
    assert service["StateDirectory"] == ["gateway"]
    for key, value in (("NoNewPrivileges", "true"), ("ProtectSystem", "strict"),
                       ("ProtectHome", "true"), ("PrivateTmp", "true"),
                       ("CapabilityBoundingSet", "")):
        assert service[key] == [value], key
    assert sections["Install"]["WantedBy"] == ["multi-user.target"]


@pytest.mark.parametrize("unit", sorted(COMMANDS))
def test_systemd_accepts_each_unit(unit, tmp_path):
    analyze = shutil.which("systemd-analyze")
    require_peer(analyze is not None, "systemd-analyze (systemd)")
    # The installed path does not exist here: this venv's gateway stands in for it.
    gateway = Path(sys.executable).parent / "gateway"
    copy = tmp_path / f"{unit}.service"
    copy.write_text((UNITS / f"{unit}.service").read_text().replace(EXECUTABLE,
                                                                      str(gateway)))
    done = subprocess.run([analyze, "verify", "--man=no", str(copy)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
