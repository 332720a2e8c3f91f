"""Fetching a voice message from Twilio: the recording's URL + ".mp3", with the account's
SID and auth token by HTTP basic authentication.

The URL came in a webhook, so the fetch is bounded before it is made: HTTPS to a host of
``ivr.twilio.recording_hosts`` only (``api.twilio.com``; a local test may name a loopback
host, fetched by plain HTTP), never an address of our own network a forged or mistaken
URL could name. A redirect (Twilio may hand the file over to its storage) is followed
only to an HTTPS URL with a host name (no address, no "localhost"), and without the
credentials. Each fetch has a timeout, and stops reading at ``MAX_RECORDING_BYTES``.

Failures become ``FetchFailed`` (try again later) or ``FetchRefused`` (no later try can
succeed); nothing above this module sees urllib's exceptions.
"""

from __future__ import annotations

import base64
import ipaddress
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from core.voice.attachments import MAX_RECORDING_BYTES

AUDIO_TYPE = "audio/mpeg"
TIMEOUT_SECONDS = 30.0
CHUNK = 64 * 1024


class FetchFailed(Exception):
    """The fetch did not succeed this time (network, Twilio, not there yet)."""


class FetchRefused(FetchFailed):
    """The recording cannot be fetched, now or later: its URL is not allowed, or the
    file is larger than a recording may be."""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _named_host(host: str) -> bool:
    """A public host name: not an IP address, not this machine."""
    if not host or host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to an HTTPS URL on a host name (the credentials, sent as
    an unredirected header, stay behind)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        parts = urlsplit(newurl)
        if parts.scheme != "https" or not _named_host((parts.hostname or "").lower()):
            raise FetchRefused(f"redirected to a URL not allowed ({parts.scheme}://"
                               f"{parts.hostname})")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class RecordingFetcher:
    def __init__(self, account_sid: str, auth_token: str, hosts: Iterable[str], *,
                 timeout: float = TIMEOUT_SECONDS, max_bytes: int = MAX_RECORDING_BYTES
                 ) -> None:
        self._credentials = base64.b64encode(
            f"{account_sid}:{auth_token}".encode()).decode("ascii")
        self._hosts = frozenset(host.strip().lower() for host in hosts if host.strip())
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._opener = urllib.request.build_opener(_Redirects())

    def url(self, source_url: str) -> str:
        """The URL to fetch for ``source_url``, or ``FetchRefused`` when it is not one of
        the allowed hosts' (by HTTPS; by HTTP only a loopback host named in the list)."""
        parts = urlsplit(source_url.strip())
        host = (parts.hostname or "").lower()
        if host not in self._hosts or parts.username or parts.password:
            raise FetchRefused(f"recording host not allowed: {host or '(none)'}")
        if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(host)):
            raise FetchRefused(f"recording URL scheme not allowed: {parts.scheme}")
        path = parts.path if parts.path.endswith(".mp3") else parts.path + ".mp3"
        return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))

    def fetch(self, source_url: str) -> tuple[str, bytes]:
        """The recording's type and bytes (``FetchFailed``, ``FetchRefused``)."""
        request = urllib.request.Request(self.url(source_url), method="GET")
        request.add_unredirected_header("Authorization", f"Basic {self._credentials}")
        request.add_header("Accept", AUDIO_TYPE)
        deadline = time.monotonic() + self._timeout * 2
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                content_type = response.headers.get_content_type()
                if not content_type.startswith("audio/"):
                    raise FetchFailed(f"not audio: {content_type}")
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > self._max_bytes:
                    raise FetchRefused(f"recording of {declared} bytes: too large")
                data = bytearray()
                while chunk := response.read(CHUNK):
                    data += chunk
                    if len(data) > self._max_bytes:
                        raise FetchRefused("recording larger than allowed")
                    if time.monotonic() > deadline:
                        raise FetchFailed("recording download too slow")
        except FetchFailed:
            raise
        except urllib.error.HTTPError as exc:
            raise FetchFailed(f"HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise FetchFailed(type(exc).__name__) from exc
        if not data:
            raise FetchFailed("empty recording")
        return AUDIO_TYPE, bytes(data)
