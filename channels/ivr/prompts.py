"""``gateway prompts render``: every recordable phrase to a WAV file, offline, with pyttsx3.

pyttsx3 drives espeak-ng here, and has pitfalls this module is shaped around:

- several ``save_to_file`` calls queued before one ``runAndWait`` write only the last
  file, so each phrase is saved and waited for on its own;
- ``say()`` and ``save_to_file()`` in one engine interfere: the worker only saves;
- the engine can hang (a stuck audio driver, a voice that does not load), so it runs in
  a child process (``python -m channels.ivr.prompts``) that is killed when a phrase
  takes longer than a timeout.
  Never in a web request: the line only looks files up.

Each file is written under a temporary name and renamed when complete, so the line never
plays half a file; files already rendered are skipped (their names are content hashes).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from channels.ivr.audio import AudioLibrary, audio_dir, espeak_voice
from channels.ivr.settings import IvrConfiguration
from channels.ivr.speech import recordable_phrases, recording_years
from core.platform.i18n import LANGUAGES

# Seconds the engine may take to start, and to render one phrase, before it is killed.
STARTUP_SECONDS, SECONDS_PER_PHRASE = 20.0, 10.0
# Tries per phrase when the engine wrote no audio.
ATTEMPTS = 3
# A usable recording lasts at least this long (the shortest, a digit, is ~0.3 s): an
# engine that wrote a header and a frame or two has not spoken the phrase.
MIN_PROMPT_SECONDS, MAX_PROMPT_SECONDS = 0.05, 30.0


@dataclass(frozen=True)
class Job:
    lang: str
    text: str
    voice: str
    path: str


@dataclass
class RenderReport:
    rendered: list[str] = field(default_factory=list)
    skipped: int = 0
    failed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        line = f"{len(self.rendered)} prompt(s) rendered, {self.skipped} already there"
        return line + (f", {len(self.failed)} failed" if self.failed else "")


class RenderError(Exception):
    """The speech engine could not be run (missing, crashed, timed out)."""


def all_phrases(today: date | None = None) -> list[tuple[str, str]]:
    """(language, phrase) for everything the line may say from a recording."""
    years = recording_years(today or date.today())
    return [(lang, phrase) for lang in LANGUAGES for phrase in recordable_phrases(lang, years)]


def render(settings: IvrConfiguration, phrases: list[tuple[str, str]] | None = None, *,
           force: bool = False, timeout: float | None = None) -> RenderReport:
    """Render ``phrases`` (default: all of them) that have no file yet, then check each."""
    voice = settings.ivr.voice
    library = AudioLibrary(audio_dir(settings), voice, settings.gateway.public_url)
    library.directory.mkdir(parents=True, exist_ok=True)
    report = RenderReport()
    jobs: list[Job] = []
    for lang, text in phrases if phrases is not None else all_phrases():
        path = library.path(lang, text)
        if path.exists() and not force and check_wav(path) is None:
            report.skipped += 1
            continue
        jobs.append(Job(lang, text, espeak_voice(voice, lang), str(path)))
    if jobs:
        _run_worker(jobs, voice.rate, timeout)
    for job in jobs:
        problem = check_wav(Path(job.path))
        if problem:
            report.failed.append(f"{job.lang} {job.text!r}: {problem}")
        else:
            report.rendered.append(job.path)
    return report


def _run_worker(jobs: list[Job], rate: int, timeout: float | None) -> None:
    """Run the engine in a child process; kill it when a phrase takes too long.

    The child reports each phrase as it finishes, so the time limit is per phrase (after
    a start-up allowance) rather than one guess for the whole batch.
    """
    limit = timeout or SECONDS_PER_PHRASE
    payload = json.dumps({"rate": rate, "jobs": [job.__dict__ for job in jobs]})
    # stderr to a file: a chatty engine must not fill a pipe nobody reads while waiting.
    with tempfile.TemporaryFile("w+") as errors, \
            subprocess.Popen([sys.executable, "-m", "channels.ivr.prompts"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                             text=True, cwd=Path(__file__).resolve().parents[2]) as child:
        # A child that died at once (no engine) closed the pipe: its exit status tells.
        with contextlib.suppress(BrokenPipeError):
            child.stdin.write(payload)
            child.stdin.flush()
        with contextlib.suppress(BrokenPipeError):
            child.stdin.close()
        deadline = time.monotonic() + STARTUP_SECONDS + limit
        with selectors.DefaultSelector() as selector:
            selector.register(child.stdout, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    child.kill()
                    raise RenderError(f"the speech engine stopped answering for {limit:.0f} s "
                                      "(is espeak-ng working?)")
                if not child.stdout.readline():
                    break  # the child is done
                deadline = time.monotonic() + limit
        if child.wait() != 0:
            errors.seek(0)
            tail = errors.read().strip().splitlines()[-3:]
            raise RenderError("the speech engine failed: " + " / ".join(tail))


def check_wav(path: Path) -> str | None:
    """What is wrong with a rendered file (None when it is a usable mono 16-bit WAV)."""
    try:
        with wave.open(str(path), "rb") as audio:
            channels, width = audio.getnchannels(), audio.getsampwidth()
            frames, rate = audio.getnframes(), audio.getframerate()
    except (OSError, EOFError, wave.Error) as exc:
        return f"not a WAV file ({exc})"
    if channels != 1 or width != 2:
        return f"{channels} channel(s) of {8 * width} bits, not mono 16-bit"
    if frames == 0 or rate <= 0:
        return "empty"
    if frames / rate < MIN_PROMPT_SECONDS:
        return f"{frames / rate * 1000:.0f} ms long, too short to be the phrase"
    if frames / rate > MAX_PROMPT_SECONDS:
        return f"{frames / rate:.1f} s long"
    return None


# --- the child process -------------------------------------------------------------------


def _worker() -> None:
    import pyttsx3

    order = json.load(sys.stdin)
    # The espeak driver writes the file itself, so nothing ever plays on this machine.
    engine = pyttsx3.init("espeak")
    engine.setProperty("rate", int(order["rate"]))
    for job in order["jobs"]:
        target = Path(job["path"])
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        engine.setProperty("voice", job["voice"])
        # The espeak driver now and then writes nothing (seen on the first phrase after a
        # voice change): the phrase is tried again before it counts as failed.
        for _attempt in range(ATTEMPTS):
            # One save per runAndWait: queued saves would write only the last file.
            engine.save_to_file(job["text"], str(partial))
            engine.runAndWait()
            if partial.exists() and partial.stat().st_size > 44:
                os.replace(partial, target)
                break
            partial.unlink(missing_ok=True)
        else:
            print(f"no audio for {job['lang']} {job['text']!r}", file=sys.stderr)
        print("done", flush=True)  # the parent's sign of life


if __name__ == "__main__":
    _worker()
