"""The SMS settings that point the gateway at the SMSC peer (``smsc`` fixture): as
GATEWAY__* variables for a `gateway` process, or as SmsSettings for a channel here."""

from __future__ import annotations

from channels.sms.settings import SmppSettings, SmsSettings


def sms_environment(smsc) -> dict[str, str]:
    """SMS on, bound to the peer with its credentials: for tests.processes.environment."""
    return {"GATEWAY__SMS__ENABLED": "true", "GATEWAY__SMS__SMPP__HOST": smsc.host,
            "GATEWAY__SMS__SMPP__PORT": str(smsc.port),
            "GATEWAY__SMS__SMPP__SYSTEM_ID": smsc.system_id,
            "GATEWAY__SMS__SMPP__PASSWORD": smsc.password}


def sms_settings(smsc, *, window: int = 10, throughput: float = 500, binds: int = 1,
                 binds_per_process: int | None = None) -> SmsSettings:
    """The same for an SmsChannel (or SmsBinds) started in the test's own process."""
    return SmsSettings(enabled=True, smpp=SmppSettings(
        host=smsc.host, port=smsc.port, system_id=smsc.system_id, password=smsc.password,
        window=window, throughput_per_second=throughput, binds=binds,
        binds_per_process=binds_per_process))
