"""What every command shares: ``--config PATH`` (before or after the command), the log
format, and the core opened on the configured database."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from core.platform.settings import ConfigError
from gateway.settings import Settings, load_settings

if TYPE_CHECKING:
    from core.service import Core

_GROUP_CONFIG = "gateway.config"


def _load(config: str | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def with_settings(command: Callable) -> Callable:
    """Add ``--config PATH`` and pass the loaded, validated settings as ``settings``."""

    @click.option("--config", "config_path", type=click.Path(dir_okay=False),
                  envvar="GATEWAY_CONFIG", help="configuration file (default: config.yaml)")
    @functools.wraps(command)
    def wrapper(config_path: str | None, **kwargs):
        configure_logging()
        ctx = click.get_current_context()
        # `gateway --config PATH run` as well as `gateway run --config PATH`: the
        # command's own option first, then the group's, then GATEWAY_CONFIG.
        given = ctx.meta.get(_GROUP_CONFIG)
        if given and ctx.get_parameter_source("config_path") is not ParameterSource.COMMANDLINE:
            config_path = given
        return command(settings=_load(config_path), **kwargs)

    return wrapper


def remember_group_config(ctx: click.Context, _param, value: str | None) -> str | None:
    """The group's ``--config``, kept for the command that follows (``with_settings``)."""
    if value:
        ctx.meta[_GROUP_CONFIG] = value
    return value


def configure_logging() -> None:
    """Log lines as every command writes them; library chatter held back."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Alembic narrates every schema check at INFO; `db upgrade` reports for itself.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # waitress warns "Task queue depth" for every request queued behind busy threads:
    # normal under load, and it would flood the log.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def open_core(settings: Settings, *, require_schema: bool = True,
              background_log: bool = True) -> Core:
    """The core on the configured database; refused (the command fails) when the
    database is not at this version's schema."""
    from gateway.bootstrap import build_core, check_schema

    core = build_core(settings, background_log=background_log)
    if require_schema:
        problem = check_schema(core)
        if problem:
            core.close()
            raise click.ClickException(problem)
    return core


@contextmanager
def short_lived_core(settings: Settings) -> Iterator[Core]:
    """The core for one short command's work, closed after it (and without the inquiry
    log's background writer thread: nothing runs long enough to need it)."""
    core = open_core(settings, background_log=False)
    try:
        yield core
    finally:
        core.close()
