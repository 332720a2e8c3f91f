"""E-mail benchmark: messages answered per second from a mailbox of 2,000 messages.

    .venv/bin/python bench/email_replies.py [--messages N] [--transactions N] [--seed N]

1. A fresh SQLite database in a temp dir, migrated; ``--transactions`` transactions
   registered through the core (each applicant with an e-mail address).
2. The same local servers as the tests: a throwaway Dovecot (tests/peers/dovecot_peer.py)
   and aiosmtpd (tests/peers/smtp_peer.py) on loopback.
3. ``--messages`` mails appended to the mailbox over one IMAP session: ~90 % from the
   applicant's address (found), ~10 % from strangers (the neutral answer), in Arabic and
   English, Arabic-Indic digits in a third of them.
4. The channel's own code answers them: one ``poll`` (fetch, parse, store, queue the
   reply, mark \\Seen), then the SMTP sender drains the outbox. Timed: the poll, the
   sending, and the whole (first fetch to last reply accepted by the SMTP server).
5. Every reply is checked (one per mail, found or not as expected); the exit status is
   non-zero only when something broke. Two settings differ from production so that the
   bench measures the work and not the abuse limits: ``max_replies_per_hour`` and
   ``inquiry.max_failures`` are lifted (many mails come from the same few addresses).
"""

from __future__ import annotations

# Not bench/email.py, as the issue first named it: in bench/ (the scripts' sys.path[0])
# that name would hide the standard library's email package from every other bench.
import argparse
import imaplib
import platform
import random
import shutil
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from channels.email.channel import EmailChannel  # noqa: E402
from core.platform import migrate  # noqa: E402
from core.platform.db import Database  # noqa: E402
from gateway.bootstrap import build_core  # noqa: E402
from gateway.settings import load_settings  # noqa: E402
from tests.peers.dovecot_peer import DovecotPeer, dovecot_available  # noqa: E402
from tests.peers.smtp_peer import SmtpPeer  # noqa: E402

ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FOLDER = "INBOX"


def number(i: int) -> str:
    return f"{1447000 + i}"


def applicant(i: int) -> str:
    return f"applicant{i}@example.com"


def register(core, transactions: int) -> None:
    for i in range(transactions):
        core.record_event({
            "event_id": f"bench-{i}", "type": "registered",
            "occurred_at": "2026-11-23T09:15:00+03:00",
            "transaction": {"number": number(i), "subject": "طلب", "applicant": {
                "name": "مواطن", "email": applicant(i)}}})


AUTHSERV_ID = "mx.emirate.gov.sa"


def mail(k: int, transactions: int, rng: random.Random) -> tuple[bytes, str, bool]:
    i = rng.randrange(transactions)
    found = rng.random() < 0.9
    sender = applicant(i) if found else f"stranger{k}@else.example"
    digits = number(i).translate(ARABIC_DIGITS) if k % 3 == 0 else number(i)
    message = EmailMessage()
    # As our receiving server passes a mail on: its verdict on the From, and its trace.
    domain = sender.rpartition("@")[2]
    message["Authentication-Results"] = (f"{AUTHSERV_ID}; spf=pass smtp.mailfrom={domain}; "
                                         f"dmarc=pass header.from={domain}")
    message["Received"] = f"from mail.{domain} by {AUTHSERV_ID}; Mon, 23 Nov 2026 10:00 +0300"
    message["From"] = sender
    message["To"] = "inquiries@emirate.gov.sa"
    message["Message-ID"] = f"<bench-{k}@mail.example.com>"
    if k % 2:
        message["Subject"] = "استعلام عن معاملة"
        message.set_content(f"السلام عليكم\nأرجو إفادتي بحالة المعاملة رقم {digits}\nوشكرا")
    else:
        message["Subject"] = "Transaction status"
        message.set_content(f"Hello,\nWhat is the status of transaction {digits}?\nThanks")
    return message.as_bytes(), sender, found


def fill(peer: DovecotPeer, raws: list[bytes]) -> None:
    client = imaplib.IMAP4(peer.host, peer.port)
    client.login(peer.username, peer.password)
    try:
        for raw in raws:
            client.append(FOLDER, None, None, raw)
    finally:
        client.logout()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--transactions", type=int, default=500)
    parser.add_argument("--seed", type=int, default=74747)
    args = parser.parse_args()
    available, why = dovecot_available()
    if not available:
        print(f"bench/email_replies.py: {why}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-email-"))
    try:
        return run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args, work: Path) -> int:
    url = f"sqlite:///{work / 'gateway.db'}"
    database = Database(url)
    migrate.upgrade(database.engine)
    database.dispose()
    rng = random.Random(args.seed)
    with DovecotPeer() as imap, SmtpPeer() as smtp:
        settings = load_settings(
            None, database={"url": url}, var_dir=str(work),
            security={"national_id_key": "bench-key"}, gateway={"secret_key": "bench"},
            inquiry={"max_failures": 10**9},
            email={"enabled": True, "max_replies_per_hour": 10**9,
                   "authserv_ids": [AUTHSERV_ID],
                   "imap": {"host": imap.host, "port": imap.port, "username": imap.username,
                            "password": imap.password, "ssl": False, "folder": FOLDER},
                   "smtp": {"host": smtp.host, "port": smtp.port, "ssl": False,
                            "starttls": False, "from_address": "inquiries@emirate.gov.sa"}})
        core = build_core(settings)
        try:
            started = time.perf_counter()
            register(core, args.transactions)
            print(f"registered {args.transactions} transactions in "
                  f"{time.perf_counter() - started:.1f}s")
            mails = [mail(k, args.transactions, rng) for k in range(args.messages)]
            started = time.perf_counter()
            fill(imap, [raw for raw, _, _ in mails])
            print(f"appended {args.messages} mails in {time.perf_counter() - started:.1f}s")
            return measure(core, settings, smtp, mails)
        finally:
            core.close()


def measure(core, settings, smtp: SmtpPeer, mails) -> int:
    channel = EmailChannel(core, settings.email)
    started = time.perf_counter()
    report = channel.poll()
    polled = time.perf_counter()
    sent = channel.sender.send_due()
    finished = time.perf_counter()
    count = len(mails)
    replies = smtp.messages() if smtp.count() else []
    not_found = sum("No transaction was found" in r.get_body(("plain",)).get_content()
                    for r in replies)
    expected_not_found = sum(not found for _, _, found in mails)
    poll_s, send_s, total_s = polled - started, finished - polled, finished - started
    print(f"\nplatform: {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.machine()}, SQLite")
    print(f"{'phase':<34}{'seconds':>9}{'messages/s':>13}")
    print(f"{'poll (fetch, parse, store, queue)':<34}{poll_s:>9.2f}{count / poll_s:>13.0f}")
    print(f"{'send (SMTP, one session)':<34}{send_s:>9.2f}{sent / send_s:>13.0f}")
    print(f"{'answered end to end':<34}{total_s:>9.2f}{count / total_s:>13.0f}")
    problems = []
    if report.stored != count:
        problems.append(f"stored {report.stored} of {count}")
    if len(replies) != count or sent != count:
        problems.append(f"{len(replies)} replies received, {sent} sent, for {count} mails")
    if not_found != expected_not_found:
        problems.append(f"{not_found} not-found answers, expected {expected_not_found}")
    for problem in problems:
        print(f"BROKEN: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
