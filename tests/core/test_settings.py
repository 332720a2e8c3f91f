"""Configuration: config.yaml, another file by path or GATEWAY_CONFIG, GATEWAY__* overrides."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from core.platform import settings as settings_module
from core.platform.settings import REPO_ROOT, ConfigError
from gateway.settings import load_settings

SAMPLE = """\
database:
  url: sqlite:///var/sample.db
sms:
  enabled: true
  short_code: "74747"
  smpp:
    host: smsc.example.sa
    port: 2775
    system_id: emirate
locale:
  default_language: ar
gateway:
  secret_key: from-the-file
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No GATEWAY_* variable from the developer's shell leaks into these tests."""
    for name in list(os.environ):
        if name.upper().startswith("GATEWAY_"):
            monkeypatch.delenv(name)


@pytest.fixture
def config_file(tmp_path) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(SAMPLE, encoding="utf-8")
    return path


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "custom.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_repository_config_gives_the_documented_defaults(tmp_path):
    settings = load_settings(REPO_ROOT / "config.yaml", var_dir=str(tmp_path))

    assert settings.database.url == f"sqlite:///{REPO_ROOT / 'var' / 'gateway.db'}"
    assert (settings.gateway.host, settings.gateway.port) == ("127.0.0.1", 8080)
    assert (settings.sms.enabled, settings.sms.short_code) == (False, "74747")
    assert (settings.sms.quiet_hours.start.hour, settings.sms.quiet_hours.end.hour) == (22, 7)
    assert (settings.ivr.enabled, settings.email.enabled) == (False, False)
    assert settings.ivr.twilio.validate_signatures is True
    assert settings.ivr.voice.mode == "say"
    assert (settings.scheduler.overdue_reply_days, settings.scheduler.overdue_scan_seconds,
            settings.scheduler.overdue_repeat_days) == (10, 600, 3)
    assert (settings.locale.default_language, settings.locale.timezone) == ("ar", "Asia/Riyadh")


def test_an_explicit_path_is_read(config_file):
    settings = load_settings(config_file)

    assert settings.sms.enabled is True
    assert (settings.sms.smpp.host, settings.sms.smpp.system_id) == ("smsc.example.sa",
                                                                     "emirate")


def test_gateway_config_selects_the_file(config_file, monkeypatch):
    monkeypatch.setenv("GATEWAY_CONFIG", str(config_file))

    assert load_settings().sms.smpp.host == "smsc.example.sa"


def test_an_explicit_path_wins_over_gateway_config(config_file, tmp_path, monkeypatch):
    monkeypatch.setenv("GATEWAY_CONFIG", str(config_file))
    other = write(tmp_path, "sms:\n  smpp:\n    host: other.example.sa\n")

    assert load_settings(other).sms.smpp.host == "other.example.sa"


@pytest.mark.parametrize("how", ["path", "GATEWAY_CONFIG"])
def test_a_named_file_that_does_not_exist_is_an_error(tmp_path, monkeypatch, how):
    missing = tmp_path / "nowhere.yaml"
    if how == "GATEWAY_CONFIG":
        monkeypatch.setenv("GATEWAY_CONFIG", str(missing))

    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(missing if how == "path" else None)


def test_an_environment_variable_overrides_one_nested_key(config_file, monkeypatch):
    monkeypatch.setenv("GATEWAY__SMS__SMPP__PORT", "2776")

    settings = load_settings(config_file)

    assert settings.sms.smpp.port == 2776
    # The rest of the section still comes from the file.
    assert (settings.sms.smpp.host, settings.sms.smpp.system_id) == ("smsc.example.sa",
                                                                     "emirate")
    assert settings.sms.enabled is True


@pytest.mark.parametrize(("variable", "value", "read"), [
    ("GATEWAY__DATABASE__URL", "postgresql+psycopg://gw@db.internal/gateway",
     lambda s: s.database.url),
    ("GATEWAY__GATEWAY__SECRET_KEY", "from-the-environment", lambda s: s.gateway.secret_key),
    ("GATEWAY__SMS__ENABLED", "false", lambda s: s.sms.enabled),
    ("GATEWAY__SMS__SMPP__PASSWORD", "s3cret", lambda s: s.sms.smpp.password),
    ("GATEWAY__LOCALE__DEFAULT_LANGUAGE", "en", lambda s: s.locale.default_language),
])
def test_the_environment_wins_over_the_file(config_file, monkeypatch, variable, value, read):
    monkeypatch.setenv(variable, value)

    expected = False if value == "false" else value
    assert read(load_settings(config_file)) == expected


def test_a_bad_environment_value_names_the_key_and_the_variable(config_file, monkeypatch):
    monkeypatch.setenv("GATEWAY__SMS__SMPP__PORT", "not-a-port")

    with pytest.raises(ConfigError) as error:
        load_settings(config_file)

    assert "sms.smpp.port (GATEWAY__SMS__SMPP__PORT)" in str(error.value)


@pytest.mark.parametrize(("yaml_text", "key"), [
    ("gateway:\n  port: 0\n", "gateway.port (GATEWAY__GATEWAY__PORT)"),
    ("sms:\n  smpp:\n    port: 70000\n", "sms.smpp.port (GATEWAY__SMS__SMPP__PORT)"),
    ("sms:\n  smpp:\n    throughput_per_second: 0\n",
     "sms.smpp.throughput_per_second (GATEWAY__SMS__SMPP__THROUGHPUT_PER_SECOND)"),
    ("sms:\n  quiet_hours:\n    start: '25:00'\n",
     "sms.quiet_hours.start (GATEWAY__SMS__QUIET_HOURS__START)"),
    ("locale:\n  timezone: Mars/Olympus\n", "locale.timezone (GATEWAY__LOCALE__TIMEZONE)"),
    ("locale:\n  default_language: fr\n",
     "locale.default_language (GATEWAY__LOCALE__DEFAULT_LANGUAGE)"),
    ("ivr:\n  voice:\n    mode: shout\n", "ivr.voice.mode (GATEWAY__IVR__VOICE__MODE)"),
    ("inquiry:\n  max_failures: 0\n", "inquiry.max_failures (GATEWAY__INQUIRY__MAX_FAILURES)"),
    ("scheduler:\n  overdue_reply_days: many\n",
     "scheduler.overdue_reply_days (GATEWAY__SCHEDULER__OVERDUE_REPLY_DAYS)"),
    ("gateway:\n  metrics_networks: [10.0.0.1/8]\n",
     "gateway.metrics_networks (GATEWAY__GATEWAY__METRICS_NETWORKS)"),
    ("gateway:\n  metrics_networks: [intranet]\n",
     "gateway.metrics_networks (GATEWAY__GATEWAY__METRICS_NETWORKS)"),
])
def test_a_bad_value_in_the_file_names_the_key_and_its_variable(tmp_path, yaml_text, key):
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, yaml_text))

    assert key in str(error.value)


@pytest.mark.parametrize(("yaml_text", "key"), [
    ("smss:\n  enabled: true\n", "smss (GATEWAY__SMSS): unknown key"),
    ("sms:\n  bogus: 1\n", "sms.bogus (GATEWAY__SMS__BOGUS): unknown key"),
    ("sms:\n  smpp:\n    pasword: x\n",
     "sms.smpp.pasword (GATEWAY__SMS__SMPP__PASWORD): unknown key"),
    ("1: x\n", "1 (GATEWAY__1): unknown key"),
])
def test_unknown_keys_are_rejected(tmp_path, yaml_text, key):
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, yaml_text))

    assert key in str(error.value)


@pytest.mark.parametrize(("variable", "key"), [
    ("GATEWAY__SMS__SMPP__PROT", "sms.smpp.prot (GATEWAY__SMS__SMPP__PROT): unknown key"),
    ("GATEWAY__SMSS__ENABLED", "smss (GATEWAY__SMSS__ENABLED): unknown key"),
])
def test_a_misspelt_environment_variable_is_rejected(config_file, monkeypatch, variable, key):
    monkeypatch.setenv(variable, "2776")

    with pytest.raises(ConfigError) as error:
        load_settings(config_file)

    assert key in str(error.value)


def test_every_bad_key_is_reported_at_once(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, "gateway:\n  port: 0\nsms:\n  bogus: 1\n"))

    assert "gateway.port" in str(error.value) and "sms.bogus" in str(error.value)


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("sms: [unclosed\n", "not valid YAML"),
    ("- a\n- b\n", "must be a mapping"),
])
def test_a_file_that_is_not_a_mapping_of_sections_is_an_error(tmp_path, yaml_text, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, yaml_text))


def test_a_section_with_only_comments_takes_the_defaults(tmp_path):
    settings = load_settings(write(tmp_path, "sms:\n  # enabled: true\nivr:\n"))

    assert (settings.sms.enabled, settings.sms.short_code, settings.ivr.enabled) == (
        False, "74747", False)


def test_an_empty_file_takes_the_defaults(tmp_path):
    assert load_settings(write(tmp_path, "")).gateway.port == 8080


# --- generated secrets ---------------------------------------------------------------------


@pytest.mark.parametrize(("method", "filename"), [("secret_key", "secret_key"),
                                                  ("national_id_key", "national_id_key")])
def test_a_generated_secret_is_kept_under_var_dir_and_stable(tmp_path, method, filename):
    config = write(tmp_path, "")
    var_dir = tmp_path / "var"

    first = getattr(load_settings(config, var_dir=str(var_dir)), method)()
    second = getattr(load_settings(config, var_dir=str(var_dir)), method)()

    kept = var_dir / filename
    assert first == second
    assert len(first) >= 32
    assert kept.read_text().strip() == (first.decode() if isinstance(first, bytes) else first)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    # Another installation (another var_dir) gets its own.
    other = getattr(load_settings(config, var_dir=str(tmp_path / "elsewhere")), method)()
    assert other != first


def test_a_configured_secret_is_used_and_nothing_is_generated(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEWAY__SECURITY__NATIONAL_ID_KEY", "from-the-vault")
    settings = load_settings(write(tmp_path, "gateway:\n  secret_key: abc\n"),
                             var_dir=str(tmp_path / "var"))

    assert (settings.secret_key(), settings.national_id_key()) == ("abc", b"from-the-vault")
    assert not (tmp_path / "var").exists()


def test_processes_starting_together_agree_on_one_generated_secret(tmp_path):
    path = tmp_path / "var" / "national_id_key"
    results: list[str] = []
    start = threading.Barrier(12)

    def generate():
        start.wait()
        results.append(settings_module._kept_secret(path))

    threads = [threading.Thread(target=generate) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 12 and len(set(results)) == 1 and results[0]
    assert [p.name for p in path.parent.iterdir()] == ["national_id_key"]


def test_an_empty_kept_secret_is_an_error_not_an_empty_key(tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    (var_dir / "national_id_key").write_text("\n")
    settings = load_settings(write(tmp_path, ""), var_dir=str(var_dir))

    with pytest.raises(ConfigError, match="national_id_key is empty"):
        settings.national_id_key()


# --- the SQLite path -----------------------------------------------------------------------


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:///var/gateway.db", f"sqlite:///{REPO_ROOT / 'var' / 'gateway.db'}"),
    ("sqlite+pysqlite:///data/g.db", f"sqlite+pysqlite:///{REPO_ROOT / 'data' / 'g.db'}"),
    ("sqlite:////srv/gateway/g.db", "sqlite:////srv/gateway/g.db"),
    ("sqlite:///:memory:", "sqlite:///:memory:"),
    ("sqlite://", "sqlite://"),
    ("postgresql+psycopg://gw@db/gateway", "postgresql+psycopg://gw@db/gateway"),
])
def test_a_relative_sqlite_path_is_relative_to_the_repository(tmp_path, monkeypatch, url,
                                                              expected):
    monkeypatch.chdir(tmp_path)  # not the current directory

    settings = load_settings(write(tmp_path, f"database:\n  url: '{url}'\n"))

    assert settings.database.url == expected


def test_overrides_passed_in_code_win_over_the_file(config_file):
    settings = load_settings(config_file, sms={"smpp": {"port": 9999}})

    assert (settings.sms.smpp.port, settings.sms.smpp.host) == (9999, "smsc.example.sa")


@pytest.mark.parametrize(("acknowledge", "answer", "valid"), [
    ("1d", "10d", True), ("4h", "1d", True), ("10d", "2d", False), ("1d", "8h", False)])
def test_the_emirates_acknowledge_target_is_no_longer_than_its_answer(acknowledge, answer,
                                                                       valid):
    from pydantic import ValidationError

    from core.platform.settings import VoiceSettings

    if valid:
        VoiceSettings(acknowledge=acknowledge, answer=answer)
    else:
        with pytest.raises(ValidationError, match="must not be longer than answer"):
            VoiceSettings(acknowledge=acknowledge, answer=answer)
