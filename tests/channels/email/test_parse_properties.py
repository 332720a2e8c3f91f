"""Properties of the mail parser under whatever arrives in the mailbox: any bytes, and
well-formed mails with any header and body text in any charset.

``parse_mail`` understands a mail or raises ``UnreadableMail`` (never anything else),
quickly, with a text no longer than its cap; and a plain mail's sender, subject and new
text are read back as they were written."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from channels.email.parse import UnreadableMail, parse_mail, parse_oversized
from tests.channels.email import mails
from tests.properties import PROPERTY, outside_text

MAX_TEXT = 50_000
header_lines = st.lists(
    st.tuples(st.sampled_from(["From", "To", "Subject", "Message-ID", "References",
                               "Content-Type", "Content-Transfer-Encoding", "MIME-Version",
                               "Auto-Submitted", "X", ""]),
              st.binary(max_size=120)),
    max_size=12)


@st.composite
def raw_mails(draw):
    """A header block of random lines (some well-named, with random bytes) and a body."""
    lines = [name.encode() + b": " + value.replace(b"\n", b" ")
             for name, value in draw(header_lines)]
    if draw(st.booleans()):  # a sender, so the parser goes on to the rest
        lines.insert(0, b"From: someone@example.com")
    separator = draw(st.sampled_from([b"\r\n", b"\n"]))
    return separator.join(lines) + separator * 2 + draw(st.binary(max_size=2000))


def _understood_or_unreadable(raw: bytes) -> None:
    try:
        mail = parse_mail(raw)
    except UnreadableMail as exc:
        assert exc.reason and len(exc.reason) <= 200
        return
    assert "@" in mail.sender and len(mail.text) <= MAX_TEXT


@PROPERTY
@given(st.binary(max_size=3000))
def test_any_bytes_are_a_mail_or_unreadable(raw):
    _understood_or_unreadable(raw)


@PROPERTY
@given(raw_mails())
def test_any_header_lines_are_a_mail_or_unreadable(raw):
    _understood_or_unreadable(raw)
    try:
        head = parse_oversized(raw.split(b"\n\n")[0], len(raw))
    except UnreadableMail:
        return
    assert head.oversized and head.text == ""


@PROPERTY
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20),
       outside_text, outside_text, st.sampled_from(["utf-8", "windows-1256", "iso-8859-6"]))
def test_a_plain_mail_is_read_back(local, subject, body, charset):
    clean_body = "\n".join(line.strip() for line in body.splitlines()).strip()
    assume(clean_body and not any(line.startswith((">", "--", "__", "من", "from", "on "))
                                  for line in clean_body.lower().splitlines()))
    try:
        raw = mails.plain(clean_body, sender=f"{local}@example.com", subject=subject,
                          charset=charset)
    except (UnicodeEncodeError, ValueError):  # not in that charset, or a header stdlib refuses
        assume(False)
    mail = parse_mail(raw)
    assert mail.sender == f"{local}@example.com"
    assert mail.subject == " ".join(subject.split())
    assert " ".join(mail.text.split()) == " ".join(clean_body.split())
