"""Sampling the gateway under load with py-spy, and a short text summary of the samples."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
# Frames of these files are the project's own code (py-spy shortens paths under the cwd).
_OURS = re.compile(r"[(/](core|gateway|channels|scheduler)/[^()]+\.py(:\d+)?\)$")


def py_spy() -> str | None:
    venv = Path(sys.executable).with_name("py-spy")
    return str(venv) if venv.exists() else shutil.which("py-spy")


def record(pid: int, seconds: float, out: Path, *, gil: bool,
           subprocesses: bool = False, idle: bool = False) -> subprocess.Popen:
    """Start py-spy on ``pid`` (and, with ``subprocesses``, every process under it: the
    web tier's workers) for ``seconds`` writing collapsed stacks to ``out``; ``idle``
    keeps the samples of threads that wait (with ``gil`` False: the wall clock)."""
    command = [py_spy() or "py-spy", "record", "--pid", str(pid), "--duration",
               str(max(1, round(seconds))), "--rate", "250", "--format", "raw",
               "--output", str(out), "--nonblocking"]
    if gil:
        command.append("--gil")
    if subprocesses:
        command.append("--subprocesses")
    if idle:
        command.append("--idle")  # waiting threads too: where the wall clock goes
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['func']} ({path})"


def summarize(collapsed: Path, top: int = 20) -> str:
    """Top frames by inclusive share (all code, then the project's) and by self share."""
    inclusive: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith("process ")
                  and not f.startswith("thread ")]
        if not frames:
            continue
        total += count
        seen = set()
        for frame in frames:
            name = _short(frame)
            if name in seen:
                continue
            seen.add(name)
            inclusive[name] += count
            if _OURS.search(frame):
                ours[name] += count
        own[_short(frames[-1])] += count
    if not total:
        return "no samples"

    def table(title: str, counts: Counter[str]) -> list[str]:
        rows = [f"  {title}"]
        rows += [f"    {100 * n / total:5.1f}%  {name}" for name, n in counts.most_common(top)]
        return rows

    lines = [f"{total} samples"]
    lines += table("project code, inclusive (time in the function and what it calls)", ours)
    lines += table("any code, self (time in the function itself)", own)
    return "\n".join(lines)
