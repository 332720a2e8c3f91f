"""A real SMSC for the SMS channel's tests: node-smpp (npm `smpp`) in server mode,
run as a subprocess and steered over its HTTP/JSON control port.

    with SmscPeer() as smsc:
        smsc.script(next_submit_statuses=[0x58])      # the next submit is throttled
        ...bind smpplib to (smsc.host, smsc.port) as smsc.system_id / smsc.password...
        smsc.wait_for(lambda s: s["submits"])

Only the standard library, so the fixture works before any SMPP code exists.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

SMSC_DIR = Path(__file__).resolve().parent / "smsc"
HOST = "127.0.0.1"

# Statuses the tests script most often (SMPP 3.4, section 5.1.3).
ESME_ROK = 0x00
ESME_RSYSERR = 0x08
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58
ESME_RX_T_APPN = 0x64


class SmscPeerError(RuntimeError):
    """The peer did not start, or its control API refused a request."""


def node_binary() -> str | None:
    """The node executable, or None when Node.js is not installed."""
    return shutil.which("node")


def smsc_peer_available() -> tuple[bool, str]:
    """Whether node and the peer's node_modules (``npm ci``) are there, and why not."""
    if node_binary() is None:
        return False, "node is not on PATH"
    if not (SMSC_DIR / "node_modules" / "smpp" / "package.json").is_file():
        return False, f"run `npm ci` in {SMSC_DIR}"
    return True, ""


class SmscPeer:
    """An SMSC subprocess plus a client for its control API."""

    def __init__(
        self,
        *,
        system_id: str = "gateway",
        password: str = "secret",
        port: int = 0,
        start_timeout: float = 20.0,
    ) -> None:
        self.host = HOST
        self.system_id = system_id
        self.password = password
        self.port = port
        self.control_port = 0
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: Any = None
        # Loopback only: never route control calls through an http_proxy from the environment.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # --- process ------------------------------------------------------------

    def start(self) -> SmscPeer:
        """Start ``node server.js`` in its own process group and wait for READY."""
        if self._process is not None:
            raise SmscPeerError("the SMSC peer is already running")
        node = node_binary()
        if node is None:
            raise SmscPeerError("node is not on PATH")
        # Lives as long as the process; closed in stop().
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self._process = subprocess.Popen(
            [node, "server.js", "--port", str(self.port), "--control-port", "0",
             "--system-id", self.system_id, "--password", self.password],
            cwd=SMSC_DIR, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self._stderr, start_new_session=True,
        )
        try:
            line = self._read_ready_line()
            _, port, control_port = line.split()
        except Exception:
            self.stop()
            raise
        self.port, self.control_port = int(port), int(control_port)
        return self

    def _read_ready_line(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        deadline = time.monotonic() + self.start_timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if selector.select(timeout=deadline - time.monotonic()):
                    line = self._process.stdout.readline().decode(errors="replace")
                    if line.startswith("READY "):
                        return line
                    if not line:  # EOF: node exited
                        break
        raise SmscPeerError(f"the SMSC peer did not start: {self._stderr_text()}")

    def _stderr_text(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace").strip()[-2000:]

    def stop(self, *, hard: bool = False) -> None:
        """Stop the peer (SIGTERM; SIGKILL with ``hard`` or when it lingers)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL if hard else signal.SIGTERM)
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
            except ProcessLookupError:
                pass
        if process.stdout is not None:
            process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def kill(self) -> None:
        """SIGKILL the SMSC, as a crash would; ``restart()`` brings it back."""
        self.stop(hard=True)

    def restart(self) -> SmscPeer:
        """Start again on the same SMPP port (records and script start empty)."""
        self.stop()
        return self.start()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> SmscPeer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- control API --------------------------------------------------------

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://{HOST}:{self.control_port}{path}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with self._opener.open(request, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise SmscPeerError(f"{method} {path}: {exc.code} {detail}") from exc
        except urllib.error.URLError as exc:
            raise SmscPeerError(f"{method} {path}: {exc.reason}; {self._stderr_text()}") from exc

    def state(self) -> dict[str, Any]:
        """Everything the SMSC saw: binds, submits, deliver_sms, deliver_sm_resps, counters."""
        return self._call("GET", "/state")

    def submits(self) -> list[dict[str, Any]]:
        """Every submit_sm: sequence, addresses, data_coding, esm_class, registered_delivery,
        short_message (hex), udh (hex), text (decoded), tlvs, message_id, status."""
        return self.state()["submits"]

    def resps(self, after: int = 0) -> dict[str, Any]:
        """``bound`` (the bound sessions' ids) and the ``deliver_sm_resps`` from index
        ``after`` on (``resps``; ``count`` in all): cheaper than ``state()`` under load."""
        return self._call("POST", "/resps", {"after": after})

    def script(self, **behaviours: Any) -> dict[str, Any]:
        """Change behaviours (merged; keys as in server.js DEFAULT_SCRIPT); returns the script."""
        return self._call("POST", "/script", behaviours)

    def send_mo(self, text: str = "", **options: Any) -> list[dict[str, Any]]:
        """Push an MO deliver_sm (or its parts): options are source_addr, destination_addr,
        encoding ('ucs2', 'gsm', 'latin1', 'ascii'), split (None, 'udh', 'sar', 'payload'),
        part_chars, reverse_parts, reference, data_coding, esm_class, short_message_hex.
        Returns what was sent, with each PDU's sequence number."""
        return self._call("POST", "/mo", {"text": text, **options})["sent"]

    def send_receipt(self, message_id: str | None = None, **options: Any) -> dict[str, Any]:
        """Push a delivery receipt (esm_class 0x04) for ``message_id``, or for the last
        accepted submit (``submit=index`` picks another); options are stat, err, id_format
        ('as_sent', 'lower', 'decimal', 'hex', 'hex_lower', 'unpadded'),
        receipted_message_id, tlvs=False, text."""
        if message_id is not None:
            options["message_id"] = message_id
        return self._call("POST", "/receipt", options)["sent"]

    def send_raw(self, data: bytes) -> dict[str, Any]:
        """Write ``data`` to the latest bound ESME as it is (a PDU node-smpp would not
        build); its answer is recorded in ``deliver_sm_resps`` by its sequence."""
        return self._call("POST", "/raw", {"hex": data.hex()})

    def unbind(self) -> None:
        """Send ``unbind`` to the most recently bound ESME."""
        self._call("POST", "/unbind", {})

    def enquire_link(self) -> None:
        """Send ``enquire_link`` to the most recently bound ESME."""
        self._call("POST", "/enquire_link", {})

    def drop(self, session: int | None = None) -> list[int]:
        """Close every SMPP connection abruptly (TCP reset, no unbind), or ``session``'s."""
        body = {} if session is None else {"session": session}
        return self._call("POST", "/drop", body)["dropped"]

    def reset(self) -> None:
        """Forget the records and go back to the default script (connections stay)."""
        self._call("POST", "/reset", {})

    def wait_for(
        self,
        predicate: Callable[[dict[str, Any]], Any],
        timeout: float = 10.0,
        interval: float = 0.02,
    ) -> Any:
        """Poll ``state()`` until ``predicate(state)`` is truthy and return that value."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            result = predicate(state)
            if result:
                return result
            if time.monotonic() >= deadline:
                summary = {k: v for k, v in state.items() if k not in ("script", "config")}
                raise TimeoutError(f"SMSC peer state did not match within {timeout}s: {summary}")
            time.sleep(interval)
