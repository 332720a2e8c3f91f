"""``gateway prompts``: the IVR's recorded prompts."""

from __future__ import annotations

import sys

import click

from gateway.commands.options import group_options, with_settings
from gateway.settings import Settings


@click.group()
@group_options
def prompts() -> None:
    """The IVR's recorded prompts."""


@prompts.command("render")
@click.option("--force", is_flag=True, help="render again even the prompts already there")
@with_settings
def prompts_render(settings: Settings, force: bool) -> None:
    """Render every IVR prompt (both languages) to WAV files with pyttsx3 and espeak-ng.

    Fixed prompts, digits, numbers and month names go to ivr.voice.audio_dir under
    var_dir, named by a hash of their text and voice; the line plays them when
    ivr.voice.mode is "play". Runs the speech engine in a child process with a timeout.
    """
    from channels.ivr.prompts import RenderError, render

    try:
        report = render(settings, force=force)
    except RenderError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(report.summary())
    for problem in report.failed:
        click.echo(f"  {problem}", err=True)
    if report.failed:
        sys.exit(1)
