"""SMS text to SMPP ``short_message`` octets and back: GSM-7, UCS-2, UDH concatenation.

Outbound, ``sms_parts`` picks GSM-7 when every character is in the default alphabet or its
extension table, else UCS-2 (UTF-16-BE), and splits long texts into concatenated parts
with an 8-bit-reference UDH (``05 00 03 ref total seq``) and ``esm_class`` 0x40, between
words (a phone that shows the parts apart shows whole words; a word longer than a part
is cut between two characters).

GSM-7 is sent *unpacked*, one septet per octet with ``data_coding`` 0x00: that is what
SMPP ``submit_sm`` carries and what the SMSC packs for the air interface. In that form a
septet count is a byte count, and the UDH (6 octets, 7 septets once padded) leaves 153
septets per part.

What comes from ``smpplib.gsm`` (2.2.4) and what does not:

* Kept: its limits (160/153 septets, 70/67 UCS-2 units; checked against ``smpplib.consts``
  in the tests), the UDH layout, the unpacked one-octet-per-septet form, and its way of
  counting an extension character as two septets (ESC + code), which is correct.
* Rewritten: the alphabet. Its table has a backtick where ``§`` belongs (0x5F), so "`" is
  sent as "§" and "§" needlessly forces UCS-2; it lets a literal ESC through; it has no
  form feed (ESC 0x0A) and no decoder. ``make_parts`` splits on raw octets, so an
  ESC can end one part and its character start the next (its own FIXME), and a UCS-2
  surrogate pair (emoji) can be cut in two; it also picks a random reference. Here a part
  never splits an escape sequence or a surrogate pair, and the caller gives the reference.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DATA_CODING_GSM7",
    "DATA_CODING_UCS2",
    "ESM_CLASS_UDHI",
    "Decoded",
    "MalformedUdh",
    "MessageTooLong",
    "Segment",
    "SmsEncodingError",
    "Udh",
    "UndecodableMessage",
    "decode_message",
    "decode_short_message",
    "gsm7_decode",
    "gsm7_encode",
    "is_gsm7",
    "segment_count",
    "sms_parts",
    "split_udh",
]

DATA_CODING_GSM7 = 0x00  # SMSC default alphabet
DATA_CODING_IA5 = 0x01
DATA_CODING_BINARY = 0x02
DATA_CODING_LATIN1 = 0x03
DATA_CODING_BINARY2 = 0x04
DATA_CODING_CYRILLIC = 0x06
DATA_CODING_HEBREW = 0x07
DATA_CODING_UCS2 = 0x08
ESM_CLASS_UDHI = 0x40

GSM7_SINGLE, GSM7_PART = 160, 153  # septets
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 code units
MAX_PARTS = 255

IEI_CONCAT_8BIT = 0x00
IEI_CONCAT_16BIT = 0x08

_ESC = 0x1B
# Where a long text may be split: after a space or a line break.
_GSM7_BREAKS = frozenset(b" \n\r")
_UCS2_BREAKS = (" ".encode("utf-16-be"), "\n".encode("utf-16-be"), "\r".encode("utf-16-be"))

# 3GPP TS 23.038 default alphabet; index = septet. 0x1B is the escape, never a character.
_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = {
    0x0A: "\x0c", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\",
    0x3C: "[", 0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€",
}
_ENCODE: dict[str, bytes] = {
    char: bytes([septet]) for septet, char in enumerate(_GSM7_BASIC) if septet != _ESC
}
_ENCODE.update({char: bytes([_ESC, code]) for code, char in _GSM7_EXTENSION.items()})
_GSM7_CHARS = frozenset(_ENCODE)
_GSM7_TABLE = {ord(char): code.decode("latin-1") for char, code in _ENCODE.items()}


class SmsEncodingError(ValueError):
    """Base of this module's errors."""


class MessageTooLong(SmsEncodingError):
    """The text needs more than 255 concatenated parts."""


class UndecodableMessage(SmsEncodingError):
    """The payload is binary (data_coding 0x02/0x04, or compressed): not text."""


class MalformedUdh(UndecodableMessage):
    """The UDHI bit is set but the header does not fit the payload."""


@dataclass(frozen=True)
class Segment:
    """One ``submit_sm``: ``payload`` is the short_message (UDH included when concatenated)."""

    payload: bytes
    data_coding: int
    esm_class: int
    part: int
    total: int


@dataclass(frozen=True)
class Udh:
    """A parsed user data header; ``reference``/``total``/``seq`` when it concatenates."""

    elements: tuple[tuple[int, bytes], ...]
    reference: int | None = None
    total: int | None = None
    seq: int | None = None

    @property
    def concatenated(self) -> bool:
        return self.reference is not None


@dataclass(frozen=True)
class Decoded:
    """Decoded text; ``lossy`` when the coding was guessed or characters were replaced."""

    text: str
    lossy: bool = False


# --- outbound ----------------------------------------------------------------------------


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 default alphabet or its extension table."""
    return _GSM7_CHARS.issuperset(text)


def gsm7_encode(text: str) -> bytes:
    """Unpacked GSM-7 (one septet per octet); extension characters take ESC + code."""
    if not is_gsm7(text):
        bad = next(char for char in text if char not in _ENCODE)
        raise SmsEncodingError(f"not in the GSM-7 alphabet: {bad!r}")
    # One translate of the whole text (septets as code points 0-127), not a join per char.
    return text.translate(_GSM7_TABLE).encode("latin-1")


def _encoded(text: str) -> tuple[bytes, int, int, int]:
    """The whole text encoded, its coding, and the single-message and per-part capacities
    in octets (GSM-7: one septet per octet; UCS-2: two per unit, four for a pair)."""
    if is_gsm7(text):
        return gsm7_encode(text), DATA_CODING_GSM7, GSM7_SINGLE, GSM7_PART
    return text.encode("utf-16-be", "surrogatepass"), DATA_CODING_UCS2, UCS2_SINGLE * 2, \
        UCS2_PART * 2


def _chunks(encoded: bytes, coding: int, single: int, part: int) -> list[bytes]:
    """Cut ``encoded`` into as few parts of at most ``part`` octets as it takes, each
    ending between two words where that costs no extra part: after the last space or line
    break that fits (the break stays with the part before, so the parts joined are the
    text). A word is cut only when it is longer than a part, or when keeping it whole
    would take one more SMS; then between two characters, never inside one: a GSM-7
    escape stays with its code, a UTF-16 surrogate pair stays whole."""
    if len(encoded) <= single:
        return [encoded]
    gsm7 = coding == DATA_CODING_GSM7
    left = _tight_count(encoded, gsm7, part, 0)
    chunks: list[bytes] = []
    start = 0
    while start < len(encoded):
        end = _tight_end(encoded, gsm7, part, start)
        if end < len(encoded):
            boundary = (_gsm7_boundary if gsm7 else _ucs2_boundary)(encoded, start, end)
            if boundary is not None and (
                    boundary == end or _tight_count(encoded, gsm7, part, boundary) < left):
                end = boundary
        chunks.append(encoded[start:end])
        left -= 1
        start = end
    return chunks


def _tight_end(encoded: bytes, gsm7: bool, part: int, start: int) -> int:
    """Where the fullest part from ``start`` ends: ``part`` octets on, or one character
    less when the last would be cut (an escape without its code, half a surrogate pair)."""
    end = min(start + part, len(encoded))
    if end < len(encoded):
        if gsm7:
            if encoded[end - 1] == _ESC and not _escaped(encoded, start, end - 1):
                end -= 1
        elif 0xD8 <= encoded[end - 2] <= 0xDB:  # a high surrogate ends the part
            end -= 2
    return end


def _tight_count(encoded: bytes, gsm7: bool, part: int, start: int) -> int:
    """How many parts the text from ``start`` takes, each as full as it can be."""
    count = 0
    while start < len(encoded):
        start = _tight_end(encoded, gsm7, part, start)
        count += 1
    return count


def _gsm7_boundary(encoded: bytes, start: int, end: int) -> int | None:
    """Where a GSM-7 part from ``start`` may end, at ``end`` at most, on a word's end: just
    after the last space or line break in it, or at ``end`` when a break follows it;
    None when the part is all one word. A line feed that is an escape's code is a form
    feed, not a break (a space or a carriage return never is one)."""
    if encoded[end] in _GSM7_BREAKS and not _escaped(encoded, start, end):
        return end
    best = max(encoded.rfind(b" ", start, end), encoded.rfind(b"\r", start, end))
    newline = encoded.rfind(b"\n", start, end)
    while newline > start and _escaped(encoded, start, newline):
        newline = encoded.rfind(b"\n", start, newline)
    best = max(best, newline)
    return best + 1 if best >= start else None


def _ucs2_boundary(encoded: bytes, start: int, end: int) -> int | None:
    """As ``_gsm7_boundary``, in UTF-16-BE: a break is a whole code unit (two octets at an
    even offset from ``start``, which is even)."""
    if encoded[end:end + 2] in _UCS2_BREAKS:
        return end
    best = -1
    for unit in _UCS2_BREAKS:
        found = encoded.rfind(unit, start, end)
        while found != -1 and (found - start) % 2:  # the octets of two code units
            found = encoded.rfind(unit, start, found + 1)
        best = max(best, found)
    return best + 2 if best >= start else None


def _escaped(encoded: bytes, start: int, index: int) -> bool:
    """Whether the octet at ``index`` is the code after an ESC (not an ESC itself)."""
    escapes = 0
    while index - 1 - escapes >= start and encoded[index - 1 - escapes] == _ESC:
        escapes += 1
    return escapes % 2 == 1


def sms_parts(text: str, reference: int) -> list[Segment]:
    """Split ``text`` into submit_sm segments; ``reference`` (0-255) ties the parts together."""
    if not 0 <= reference <= 0xFF:
        raise SmsEncodingError(f"concatenation reference out of 0..255: {reference}")
    encoded, coding, single, part = _encoded(text)
    chunks = _chunks(encoded, coding, single, part)
    total = len(chunks)
    if total == 1:
        return [Segment(chunks[0], coding, 0x00, 1, 1)]
    if total > MAX_PARTS:
        raise MessageTooLong(f"{total} parts, at most {MAX_PARTS}")
    return [
        Segment(bytes([0x05, IEI_CONCAT_8BIT, 0x03, reference, total, seq]) + chunk,
                coding, ESM_CLASS_UDHI, seq, total)
        for seq, chunk in enumerate(chunks, start=1)
    ]


def segment_count(text: str) -> int:
    """How many SMS ``text`` costs (for rate limiting); not capped at 255."""
    encoded, coding, single, part = _encoded(text)
    return len(_chunks(encoded, coding, single, part))


# --- inbound -----------------------------------------------------------------------------


def split_udh(payload: bytes, esm_class: int) -> tuple[Udh | None, bytes]:
    """Strip the user data header when the UDHI bit (0x40) is set; parse concatenation.

    A concatenation element with total 0 or seq outside 1..total is ignored, as
    TS 23.040 says, and the message is then treated as a single one.
    """
    if not esm_class & ESM_CLASS_UDHI:
        return None, payload
    if not payload:
        raise MalformedUdh("UDHI set on an empty message")
    length = payload[0]
    if length + 1 > len(payload):
        raise MalformedUdh(f"UDH length {length} exceeds the {len(payload)}-octet payload")
    header, body = payload[1:length + 1], payload[length + 1:]
    elements: list[tuple[int, bytes]] = []
    index = 0
    while index < len(header):
        if index + 2 > len(header) or index + 2 + header[index + 1] > len(header):
            raise MalformedUdh("information element overruns the UDH")
        iei, size = header[index], header[index + 1]
        elements.append((iei, bytes(header[index + 2:index + 2 + size])))
        index += 2 + size
    reference = total = seq = None
    for iei, data in elements:
        if iei == IEI_CONCAT_8BIT and len(data) == 3:
            ref, count, number = data[0], data[1], data[2]
        elif iei == IEI_CONCAT_16BIT and len(data) == 4:
            ref, count, number = int.from_bytes(data[:2], "big"), data[2], data[3]
        else:
            continue
        if count and 1 <= number <= count:
            reference, total, seq = ref, count, number
    return Udh(tuple(elements), reference, total, seq), body


def gsm7_decode(payload: bytes) -> Decoded:
    """Unpacked GSM-7; a byte >= 0x80 cannot be a septet, so the text is read as Latin-1.

    Plain ASCII letters, digits, space and most punctuation are the same septets, which is
    what a transaction number needs. An unknown escape shows the base character and a
    trailing ESC is dropped (TS 23.038).
    """
    if any(byte >= 0x80 for byte in payload):
        return Decoded(payload.decode("latin-1"), lossy=True)
    chars: list[str] = []
    escaped = False
    for byte in payload:
        if escaped:
            chars.append(_GSM7_EXTENSION.get(byte, " " if byte == _ESC else _GSM7_BASIC[byte]))
            escaped = False
        elif byte == _ESC:
            escaped = True
        else:
            chars.append(_GSM7_BASIC[byte])
    return Decoded("".join(chars))


def _decode_ucs2(payload: bytes) -> Decoded:
    text = payload.decode("utf-16-be", errors="replace")
    return Decoded(text, lossy=len(payload) % 2 == 1 or "\ufffd" in text)


def _decode_codec(payload: bytes, codec: str) -> Decoded:
    text = payload.decode(codec, errors="replace")
    return Decoded(text, lossy="\ufffd" in text)


def _gsm_dcs_alphabet(data_coding: int) -> int | None:
    """The alphabet of a raw GSM 03.38 DCS some SMSCs pass through (0x10-0x3F, 0xF0-0xFF)."""
    if 0x10 <= data_coding <= 0x3F:  # general group, with message class and/or compression
        if data_coding & 0x20:
            return DATA_CODING_BINARY  # compressed text: not readable here
        return {0x00: DATA_CODING_GSM7, 0x04: DATA_CODING_BINARY,
                0x08: DATA_CODING_UCS2}.get(data_coding & 0x0C)
    if data_coding >= 0xF0:  # data coding / message class group
        return DATA_CODING_BINARY if data_coding & 0x04 else DATA_CODING_GSM7
    return None


def decode_message(payload: bytes, data_coding: int) -> Decoded:
    """Decode a short_message (UDH already stripped) by its SMPP ``data_coding``.

    0x00 GSM-7 unpacked (tolerating ASCII), 0x01 ASCII, 0x03 Latin-1, 0x06 Cyrillic,
    0x07 Hebrew, 0x08 UCS-2 (UTF-16-BE; odd length or lone surrogates give U+FFFD).
    Binary (0x02, 0x04) raises ``UndecodableMessage``; any other coding is read as Latin-1
    and flagged ``lossy``. Never raises anything else.
    """
    alphabet = _gsm_dcs_alphabet(data_coding)
    if alphabet is not None:
        data_coding = alphabet
    if data_coding in (DATA_CODING_BINARY, DATA_CODING_BINARY2):
        raise UndecodableMessage(f"binary data_coding 0x{data_coding:02x}")
    if data_coding == DATA_CODING_GSM7:
        return gsm7_decode(payload)
    if data_coding == DATA_CODING_UCS2:
        return _decode_ucs2(payload)
    codec = {DATA_CODING_IA5: "ascii", DATA_CODING_LATIN1: "latin-1",
             DATA_CODING_CYRILLIC: "iso8859-5", DATA_CODING_HEBREW: "iso8859-8"}.get(data_coding)
    if codec is None:
        return Decoded(payload.decode("latin-1"), lossy=True)
    return _decode_codec(payload, codec)


def decode_short_message(payload: bytes, data_coding: int) -> str:
    """The text of a short_message; see ``decode_message`` for the codings and the flag."""
    return decode_message(payload, data_coding).text
