"""Photos a citizen attaches on the portal, checked by their content and re-encoded before
anything keeps them.

The name and the declared type of an upload say nothing: Pillow reads the bytes, and only
a JPEG, PNG or WebP it can decode is taken. The picture is then drawn afresh into a new
image (pixels only) and encoded again, so that no metadata of the original survives:
no EXIF (the camera's GPS position above all, the owner's name, the serial number), no
XMP, no ICC profile, no comments, no second frame. The camera's orientation is applied
to the pixels first, so that the photo still stands the right way up.

Decompression bombs (a small file that decodes to billions of pixels) are refused from
the header, before any pixel is decoded, and Pillow's own bomb check is an error here,
not a warning.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageOps, UnidentifiedImageError

from core.voice.attachments import MAX_PHOTO_BYTES, MAX_PHOTOS, NewAttachment

# A phone's camera makes 12-50 megapixels; a larger picture is refused unread.
MAX_PIXELS = 50_000_000
# Pillow's name of each accepted format -> (the type stored, Pillow's encoder).
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
JPEG_QUALITY = 85


@dataclass(frozen=True)
class PhotoRefused(Exception):
    """Why a photo was not taken: ``too_many``, ``too_large`` (bytes), ``not_image``
    (not a JPEG, PNG or WebP that decodes), ``too_big`` (pixels)."""

    code: str


def checked_photos(uploads: list[bytes]) -> list[NewAttachment]:
    """The uploads as photos to keep, or ``PhotoRefused`` for the first one at fault."""
    if len(uploads) > MAX_PHOTOS:
        raise PhotoRefused("too_many")
    return [checked_photo(data) for data in uploads]


def checked_photo(data: bytes) -> NewAttachment:
    """One upload, judged by its content and re-encoded without its metadata."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRefused("too_large")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(BytesIO(data), formats=list(FORMATS)) as image:
                kind = image.format or ""
                if kind not in FORMATS:
                    raise PhotoRefused("not_image")
                if image.width * image.height > MAX_PIXELS:
                    raise PhotoRefused("too_big")
                image.load()
                upright = ImageOps.exif_transpose(image)
                clean = _pixels_only(upright, kind)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise PhotoRefused("too_big") from exc
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            # Not an image, or a damaged one (a truncated JPEG, a bad PNG chunk).
            raise PhotoRefused("not_image") from exc
    encoded = _encoded(clean, kind)
    if len(encoded) > MAX_PHOTO_BYTES:
        raise PhotoRefused("too_large")
    return NewAttachment("photo", FORMATS[kind], encoded)


def _pixels_only(image: Image.Image, kind: str) -> Image.Image:
    """A new image holding ``image``'s pixels and nothing else (``info`` empty)."""
    keeps_alpha = kind != "JPEG" and (image.mode in ("RGBA", "LA", "PA")
                                      or "transparency" in image.info)
    mode = "RGBA" if keeps_alpha else "L" if image.mode in ("L", "1") and kind != "WEBP" \
        else "RGB"
    pixels = image.convert(mode)
    return Image.frombytes(mode, pixels.size, pixels.tobytes())


def _encoded(image: Image.Image, kind: str) -> bytes:
    out = BytesIO()
    if kind == "JPEG":
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif kind == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "WEBP", quality=JPEG_QUALITY)
    return out.getvalue()
