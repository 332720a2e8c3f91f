"""What every command shares: ``--config PATH`` and ``--debug`` (before or after the
command), the log format, the core opened on the configured database, and how a failure
ends: one line on stderr naming what is wrong and the setting that controls it, exit
status 1; the traceback only with ``--debug``."""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from core.platform.schema_upgrade import database_failure, safe_message
from core.platform.settings import ConfigError
from gateway.runner import StartFailed
from gateway.settings import Settings, load_settings

if TYPE_CHECKING:
    from core.service import Core

_GROUP_CONFIG = "gateway.config"
_DEBUG = "gateway.debug"
_DATABASE_URL = "gateway.database_url"


def _load(config: str | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _remember_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta[_DEBUG] = True
    return value


debug_option = click.option(
    "--debug", is_flag=True, expose_value=False, callback=_remember_debug,
    help="on a failure, print the traceback before the one-line error")


def remember_group_config(ctx: click.Context, _param, value: str | None) -> str | None:
    """The group's ``--config``, kept for the command that follows (``with_settings``)."""
    if value:
        ctx.meta[_GROUP_CONFIG] = value
    return value


def group_options(group: Callable) -> Callable:
    """``--config`` and ``--debug`` on a command group, kept for the command that follows
    (``gateway holidays --config X list`` as well as ``gateway holidays list --config X``)."""
    group = click.option(
        "--config", type=click.Path(dir_okay=False), expose_value=False,
        callback=remember_group_config, is_eager=True,
        help="configuration file for the command that follows (default: config.yaml)")(group)
    return debug_option(group)


def with_settings(command: Callable) -> Callable:
    """Add ``--config PATH`` and ``--debug``; pass the loaded, validated settings as
    ``settings``."""

    @click.option("--config", "config_path", type=click.Path(dir_okay=False),
                  envvar="GATEWAY_CONFIG", help="configuration file (default: config.yaml)")
    @debug_option
    @functools.wraps(command)
    def wrapper(config_path: str | None, **kwargs):
        configure_logging()
        ctx = click.get_current_context()
        # `gateway --config PATH run` as well as `gateway run --config PATH`: the
        # command's own option first, then the group's, then GATEWAY_CONFIG.
        given = ctx.meta.get(_GROUP_CONFIG)
        if given and ctx.get_parameter_source("config_path") is not ParameterSource.COMMANDLINE:
            config_path = given
        settings = _load(config_path)
        ctx.meta[_DATABASE_URL] = settings.database.url  # its password kept out of errors
        return command(settings=settings, **kwargs)

    return wrapper


def debugging() -> bool:
    """Whether the running command was given ``--debug``."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.find_root().meta.get(_DEBUG))


class GatewayGroup(click.Group):
    """The top-level group: a failure no command worded itself still ends as one line
    (exit status 1), its traceback printed before it only with ``--debug``."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit,
                click.exceptions.Abort):
            raise
        except Exception as exc:
            debug = bool(ctx.meta.get(_DEBUG))
            if debug:
                traceback.print_exc()
            raise click.ClickException(describe_failure(
                exc, ctx.meta.get(_DATABASE_URL, ""), debug=debug)) from None


def describe_failure(exc: BaseException, database_url: str, *, debug: bool = False) -> str:
    """The one line a failed command ends with; never the database password."""
    if isinstance(exc, StartFailed):
        return str(exc)
    known = database_failure(exc, database_url)
    if known is not None:
        return known
    hint = "" if debug else " (run the command again with --debug for the traceback)"
    return f"unexpected failure: {safe_message(exc, database_url)}{hint}"


def configure_logging(process: str | None = None) -> None:
    """Log lines as every command writes them; library chatter held back. A worker of
    the web tier names itself (``process``: "web 2") in each of its lines."""
    if not logging.getLogger().handlers:
        who = f"[{process}] " if process else ""
        logging.basicConfig(level=logging.INFO,
                            format=f"%(asctime)s %(levelname)s {who}%(name)s: %(message)s")
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
    try:
        problem = check_schema(core) if require_schema else None
    except BaseException:  # unreachable: closed here, worded by GatewayGroup
        core.close()
        raise
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
