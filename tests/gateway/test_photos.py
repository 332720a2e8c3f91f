"""The portal's photo checks (gateway.photos): judged by content, re-encoded without any
metadata (GPS above all), bombs and oversized files refused, three at most."""

from __future__ import annotations

import os
import struct
import zlib
from io import BytesIO

import pytest
from PIL import Image

from core.voice.attachments import MAX_PHOTO_BYTES
from gateway.photos import PhotoRefused, checked_photo, checked_photos

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_with_gps(size=(64, 48), orientation: int | None = None) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0131] = "Camera app 1.0"  # Software
    if orientation:
        exif[ORIENTATION] = orientation
    exif[GPS_IFD] = {1: "N", 2: (24.0, 42.0, 51.0), 3: "E", 4: (46.0, 43.0, 7.0)}
    out = BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"taken at home")
    return out.getvalue()


def png(size=(40, 30), mode="RGB") -> bytes:
    out = BytesIO()
    Image.new(mode, size, "blue").save(out, "PNG")
    return out.getvalue()


def test_a_jpeg_comes_out_without_its_gps_position_or_any_metadata():
    original = jpeg_with_gps()
    with Image.open(BytesIO(original)) as before:
        assert before.getexif().get_ifd(GPS_IFD)  # the fixture does carry a position
    photo = checked_photo(original)
    assert (photo.kind, photo.content_type) == ("photo", "image/jpeg")
    with Image.open(BytesIO(photo.data)) as after:
        assert after.format == "JPEG"
        assert not after.getexif()
        assert not after.getexif().get_ifd(GPS_IFD)
        assert "exif" not in after.info and "comment" not in after.info
        assert after.size == (64, 48)
    assert b"Exif" not in photo.data and b"PhoneMaker" not in photo.data


def test_the_cameras_orientation_is_applied_to_the_pixels_before_it_is_dropped():
    photo = checked_photo(jpeg_with_gps(size=(64, 48), orientation=6))  # turned 90°
    with Image.open(BytesIO(photo.data)) as after:
        assert after.size == (48, 64)
        assert not after.getexif()


def test_a_png_named_jpg_is_judged_by_its_content():
    photo = checked_photo(png())  # the name never reaches the check: only the bytes
    assert photo.content_type == "image/png"
    with Image.open(BytesIO(photo.data)) as after:
        assert after.format == "PNG"


def test_transparency_survives_in_a_png():
    photo = checked_photo(png(mode="RGBA"))
    with Image.open(BytesIO(photo.data)) as after:
        assert after.mode == "RGBA"


@pytest.mark.parametrize("data", [
    b"this is not a picture, whatever its name says",
    b"GIF89a" + b"\x00" * 100,
    jpeg_with_gps()[:200],  # cut short
    b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
])
def test_what_is_not_a_jpeg_png_or_webp_is_refused(data):
    with pytest.raises(PhotoRefused) as refused:
        checked_photo(data)
    assert refused.value.code == "not_image"


def test_a_gif_is_refused_even_though_it_is_a_picture():
    out = BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    with pytest.raises(PhotoRefused):
        checked_photo(out.getvalue())


def test_a_photo_over_5_mb_is_refused():
    noise = Image.frombytes("RGB", (1500, 1400), os.urandom(1500 * 1400 * 3))
    out = BytesIO()
    noise.save(out, "PNG", compress_level=1)
    data = out.getvalue()
    assert len(data) > 6 * 1024 * 1024 > MAX_PHOTO_BYTES
    with pytest.raises(PhotoRefused) as refused:
        checked_photo(data)
    assert refused.value.code == "too_large"


def _with_dimensions(data: bytes, width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (its CRC put right)."""
    ihdr = data.index(b"IHDR")
    fields = struct.pack(">II", width, height) + data[ihdr + 12:ihdr + 17]
    chunk = b"IHDR" + fields
    return (data[:ihdr] + chunk + struct.pack(">I", zlib.crc32(chunk))
            + data[ihdr + 4 + 13 + 4:])


def test_a_decompression_bomb_is_refused_from_its_header():
    bomb = _with_dimensions(png(), 60_000, 60_000)
    assert len(bomb) < 1024
    with pytest.raises(PhotoRefused) as refused:
        checked_photo(bomb)
    assert refused.value.code == "too_big"


def test_a_fourth_photo_is_refused():
    assert len(checked_photos([png()] * 3)) == 3
    with pytest.raises(PhotoRefused) as refused:
        checked_photos([png()] * 4)
    assert refused.value.code == "too_many"
