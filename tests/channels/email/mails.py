"""Real-world mails as bytes, the way clients write them, for parser and peer tests.

A mail is delivered as our receiving server passes it on: its Authentication-Results
(authserv-id ``OUR_SERVER``, DMARC pass for the From domain) and its Received field on
top. ``authenticated=False`` leaves both out, as in a mail that came in some other way;
``stamp`` puts any trace fields on top instead.
"""

from __future__ import annotations

from email import policy
from email.header import Header
from email.message import EmailMessage
from itertools import count

_ids = count(1)
# Our receiving server's authserv-id (the channel's ``email.authserv_ids`` in the tests).
OUR_SERVER = "mx.emirate.gov.sa"


def received() -> str:
    """The Received field our server adds above what it was given."""
    return (f"from mail.sender.example (mail.sender.example [192.0.2.25]) by {OUR_SERVER} "
            f"with ESMTPS id 4Xyz; Mon, 23 Nov 2026 10:00:00 +0300")


def passed(sender: str) -> str:
    """Our server's Authentication-Results for a mail whose From it authenticated."""
    domain = sender.rpartition("@")[2].strip(">").lower()
    return (f"{OUR_SERVER}; dkim=pass header.d={domain}; spf=pass "
            f"smtp.mailfrom={domain}; dmarc=pass (p=reject dis=none) header.from={domain}")


def stamp(raw: bytes, *fields: tuple[str, str]) -> bytes:
    """``raw`` with ``fields`` (name, value) on top, in order, as servers prepend them."""
    return b"".join(f"{name}: {value}\r\n".encode() for name, value in fields) + raw


def _delivered(raw: bytes, sender: str, authenticated: bool) -> bytes:
    if not authenticated:
        return raw
    return stamp(raw, ("Authentication-Results", passed(sender)), ("Received", received()))


def plain(body: str, *, sender: str = "applicant@example.com", subject: str = "استعلام",
          charset: str = "utf-8", message_id: str | None = "", authenticated: bool = True,
          to: str = "inquiries@emirate.gov.sa", **headers: str) -> bytes:
    """A text/plain mail; ``message_id=None`` leaves the header out."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    if message_id is not None:
        message["Message-ID"] = message_id or f"<test-{next(_ids)}@mail.example.com>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body, charset=charset)
    return _delivered(message.as_bytes(), sender, authenticated)


def html_only(html: str, **kwargs) -> bytes:
    raw = plain("placeholder", **kwargs)
    head = raw.split(b"\r\n\r\n", 1)[0]
    head = b"\r\n".join(line for line in head.split(b"\r\n")
                        if not line.lower().startswith((b"content-type", b"content-transfer",
                                                        b"mime-version")))
    return (head + b"\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\n" + html.encode("utf-8"))


def multipart(text: str, html: str, *, attachment: bytes | None = None, **kwargs) -> bytes:
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = kwargs.get("sender", "applicant@example.com")
    message["To"] = "inquiries@emirate.gov.sa"
    message["Subject"] = kwargs.get("subject", "Transaction status")
    message["Message-ID"] = f"<test-{next(_ids)}@mail.example.com>"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    if attachment is not None:
        message.add_attachment(attachment, maintype="application", subtype="pdf",
                               filename="طلب.pdf")
    return _delivered(message.as_bytes(), message["From"], True)


def encoded_subject(subject: str, body: str, charset: str = "utf-8") -> bytes:
    """A mail whose subject is RFC 2047 encoded (base64, as Outlook writes Arabic)."""
    encoded = Header(subject, charset).encode()
    return _delivered((f"From: applicant@example.com\r\nTo: inquiries@emirate.gov.sa\r\n"
            f"Subject: {encoded}\r\nMessage-ID: <test-{next(_ids)}@mail.example.com>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n\r\n").encode("ascii") + body.encode(charset),
        "applicant@example.com", True)


def malformed() -> bytes:
    """A multipart mail whose boundary never appears, with no sender either."""
    return (b"Subject: broken\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"nowhere\"\r\n\r\n"
            b"\x00\xff garbage without any part\r\n")


def broken_mime(*, sender: str = "applicant@example.com", subject: str = "status",
                no_boundary: bool = False) -> bytes:
    """A mail with a valid sender whose MIME structure is broken: a multipart whose start
    boundary never appears (StartBoundaryNotFoundDefect), or, with ``no_boundary``, one
    declaring no boundary at all (NoBoundaryInMultipartDefect)."""
    content_type = (b"multipart/alternative" if no_boundary
                    else b'multipart/mixed; boundary="nowhere"')
    return _delivered(
        f"From: {sender}\r\nTo: inquiries@emirate.gov.sa\r\nSubject: {subject}\r\n"
        f"Message-ID: <broken-{next(_ids)}@mail.example.com>\r\n".encode("ascii"), sender,
        True) + (
        b"MIME-Version: 1.0\r\nContent-Type: " + content_type + b"\r\n\r\n"
        b"--x\r\n\x00\xff garbage 4471234 without a readable part\r\n")
