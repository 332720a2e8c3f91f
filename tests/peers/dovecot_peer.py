"""A real IMAP server for the e-mail channel's tests: a throwaway Dovecot.

    with DovecotPeer() as imap:
        imap.append("INBOX", raw_bytes)        # deliver a mail, as a client would
        ...IMAPClient(imap.host, imap.port) logging in as imap.username / imap.password...

Its own configuration file, ``base_dir``, ``passwd-file`` user and maildir, all in one
temporary directory; it listens on a free loopback port with plaintext login allowed (no
TLS) and runs in the foreground as the tests' child, never as a system service. Run as
root, Dovecot will not run its login process as root, so the login user is ``dovenull``
and the mail belongs to the ``dovecot`` user (as Debian's package creates them).

Only the standard library and imaplib, so the fixture does not depend on the code tested.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

HOST = "127.0.0.1"
DOVECOT = "/usr/sbin/dovecot"


def dovecot_available() -> tuple[bool, str]:
    binary = shutil.which("dovecot") or (DOVECOT if os.path.exists(DOVECOT) else None)
    if binary is None:
        return False, "dovecot is not installed (Debian: apt-get install dovecot-imapd)"
    if not Path("/usr/lib/dovecot/imap").exists():
        return False, "dovecot's imap service is missing (Debian: dovecot-imapd)"
    return True, ""


def _free_port(host: str = HOST) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _account(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


class DovecotPeer:
    """A Dovecot subprocess serving one user's maildir over IMAP on loopback."""

    def __init__(self, *, username: str = "gateway", password: str = "secret",
                 start_timeout: float = 20.0,
                 certificate: tuple[Path, Path] | None = None, starttls: bool = False,
                 namespace: tuple[str, str] = ("", "/"), host: str = HOST) -> None:
        """With ``certificate`` (cert, key) it speaks IMAP over TLS only (imaps), or, with
        ``starttls`` too, plain IMAP offering STARTTLS. ``namespace`` is the personal
        namespace's (prefix, separator): ("INBOX.", ".") as Courier and Cyrus name
        folders. ``host``: the address it listens on (loopback unless a test needs one
        on the network)."""
        self.certificate = certificate
        self.starttls = starttls
        self.namespace = namespace
        self.host = host
        self.port = 0
        self.username = username
        self.password = password
        self.start_timeout = start_timeout
        self.root: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # --- lifecycle ------------------------------------------------------------------

    def __enter__(self) -> DovecotPeer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        # Not under pytest's tmp_path: it is private to root (0700), and Dovecot's login
        # and mail processes run as other users that must reach their directories.
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-peer-"))
        self.root.chmod(0o755)
        self.port = _free_port(self.host)
        config = self._write_config()
        self._process = subprocess.Popen(
            [shutil.which("dovecot") or DOVECOT, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self._process.stderr.read().decode()}"
                                   f"\n{self.log()}")
            try:
                if self._greets():
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not answer on {self.port}\n{self.log()}")

    def _greets(self) -> bool:
        with socket.create_connection((self.host, self.port), timeout=1) as conn:
            if self.certificate is None or self.starttls:
                return conn.recv(100).startswith(b"* OK")
            context = ssl.create_default_context(cafile=str(self.certificate[0]))
            with context.wrap_socket(conn, server_hostname=self.host) as tls:
                return tls.recv(100).startswith(b"* OK")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process.stderr.close()
            self._process = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def log(self) -> str:
        path = self.root / "dovecot.log" if self.root else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    def _write_config(self) -> Path:
        root = self.root
        assert root is not None
        (root / "run").mkdir()
        (root / "state").mkdir()
        mail = root / "mail"
        mail.mkdir()
        (root / "users").write_text(f"{self.username}:{{PLAIN}}{self.password}::::::\n")
        if os.geteuid() == 0:
            owner = _account("dovecot")
            login_user = "dovenull" if _account("dovenull") else "dovecot"
            internal = "dovecot"
            assert owner is not None, "the dovecot user is missing (Debian's package adds it)"
            os.chown(mail, owner.pw_uid, owner.pw_gid)
            uid, gid = owner.pw_uid, owner.pw_gid
        else:
            me = pwd.getpwuid(os.getuid())
            login_user = internal = me.pw_name
            uid, gid = me.pw_uid, me.pw_gid
        if self.certificate is None:
            tls, plain_port, tls_port = "ssl = no", self.port, 0
        elif self.starttls:
            cert, key = self.certificate
            tls = f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}"
            plain_port, tls_port = self.port, 0
        else:
            cert, key = self.certificate
            tls = f"ssl = required\nssl_cert = <{cert}\nssl_key = <{key}"
            plain_port, tls_port = 0, self.port
        config = root / "dovecot.conf"
        config.write_text(f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = {self.host}
{tls}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal}
default_internal_group = {internal}
first_valid_uid = {min(uid, 1) if uid else 0}
first_valid_gid = 0
mail_location = maildir:{mail}/%u
mail_uid = {uid}
mail_gid = {gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {plain_port}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  prefix = {self.namespace[0]}
  separator = {self.namespace[1]}
}}
""")
        return config

    # --- a client's view, for setting up and checking a test ----------------------

    def logins(self) -> list[str]:
        """Dovecot's log lines of successful logins (they say "TLS" for one over TLS)."""
        return [line for line in self.log().splitlines() if "Login: user=" in line]

    def client(self) -> imaplib.IMAP4:
        if self.certificate is not None and not self.starttls:
            context = ssl.create_default_context(cafile=str(self.certificate[0]))
            client: imaplib.IMAP4 = imaplib.IMAP4_SSL(self.host, self.port,
                                                      ssl_context=context)
        else:
            client = imaplib.IMAP4(self.host, self.port)
        client.login(self.username, self.password)
        return client

    def create_folder(self, folder: str) -> None:
        client = self.client()
        try:
            client.create(_quote(folder))
        finally:
            client.logout()

    def append(self, folder: str, raw: bytes, flags: str = "") -> None:
        """Deliver ``raw`` into ``folder`` by IMAP APPEND."""
        client = self.client()
        try:
            typ, data = client.append(_quote(folder), flags or None, None, raw)
            assert typ == "OK", data
        finally:
            client.logout()

    def messages(self, folder: str) -> list[tuple[int, bytes, bytes]]:
        """(uid, flags, raw) of every message in ``folder``."""
        client = self.client()
        try:
            typ, _ = client.select(_quote(folder), readonly=True)
            if typ != "OK":
                return []
            typ, data = client.uid("SEARCH", "ALL")
            uids = [int(uid) for uid in data[0].split()]
            found = []
            for uid in uids:
                typ, parts = client.uid("FETCH", str(uid), "(FLAGS BODY.PEEK[])")
                head, raw = parts[0]
                flags = head.split(b"FLAGS (", 1)[1].split(b")", 1)[0]
                found.append((uid, flags, raw))
            return found
        finally:
            client.logout()


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
