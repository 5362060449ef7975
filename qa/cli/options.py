"""What every `qa` subcommand shares: settings from the environment with flags on top, and
known errors translated once, at the edge, into one line and exit status 1."""

from __future__ import annotations

import sys
from typing import Any

import click
from pydantic import ValidationError

from qa.errors import ConfigError, QAError
from qa.settings import Settings


def settings_from(**overrides: Any) -> Settings:
    """Environment first, then CLI flags (only the ones given) on top."""
    given = {k: v for k, v in overrides.items() if v not in (None, ())}
    try:
        return Settings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        raise ConfigError(f"invalid setting {where}: {first.get('msg')}") from exc


class OneLineErrors(click.Group):
    """Translate known errors once, at the edge."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except QAError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)
