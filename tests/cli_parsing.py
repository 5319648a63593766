"""Parse a `genroute` command line as the CLI would, without running it: for the tests that
hold the docs' examples and the Kubernetes manifests' commands to the commands that exist."""

import click

from genroute.cli.main import cli


def genroute_parses(argv: list[str]) -> None:
    """Parse `genroute ARGV` as the command would (subcommands, options, argument types)
    without running it; raises click.UsageError naming what it does not accept."""
    command, name, rest, context = cli, "genroute", argv, None
    while isinstance(command, click.Group) and rest and rest[0] in command.commands:
        context = click.Context(command, info_name=name, parent=context)
        name, rest = rest[0], rest[1:]
        command = command.commands[name]
    if isinstance(command, click.Group) and rest:
        raise click.UsageError(f"no command {rest[0]!r} under {name}")
    with command.make_context(name, rest, parent=context):
        pass  # leaving it closes the files click opened for file options
