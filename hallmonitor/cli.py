"""The `hallmonitor` command."""

from __future__ import annotations

import click

from hallmonitor.commands import COMMANDS
from vision import __version__
from vision.errors import HallmonitorError


class Command(click.Group):
    """Turns every HallmonitorError into a one-line message and its exit code, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except HallmonitorError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=Command)
@click.version_option(__version__, prog_name="hallmonitor")
def main() -> None:
    """hallmonitor: watch the staff windows of a service hall with cameras and models."""


for _command in COMMANDS:
    main.add_command(_command)


if __name__ == "__main__":
    main()
