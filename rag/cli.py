"""The command line, `coldwar-rag COMMAND` (also `python -m rag COMMAND`): one parser, one error scheme.

    coldwar-rag corpus parse FILE... | stats [DIR] [--json]    read and check corpus files
    coldwar-rag rebuild [--corpus DIR] [--out DIR] [--model M] [--device D] [--index-type F] [--full] [--check]
                        [--quiet]
    coldwar-rag search "question" [--k N] [--from D] [--to D] [--sort S] [--mode M] [--collection C]... [--json]
    coldwar-rag search --queries FILE                          one question per line -> JSON Lines
    coldwar-rag answer "question" [--topic T] [--k N] [--from D] [--to D] [--mode M] [--collection C]... [--json]
    coldwar-rag serve [--host H] [--port P] [--index DIR] [--corpus DIR] [--model M]

Each command is defined by the code it drives: corpus in rag/cli_corpus.py, search and answer in
rag/cli_search.py, rebuild in embeddings/rebuild.py and serve in app.py (added through the package's entry
points, rag.commands). Every failure is one line `error: ...` on stderr with the exit status listed under --help.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable

from rag.commands import Registration, load, not_installed, registered
from rag.errors import EXIT_CODES, CommandParser, run_command
from rag.settings import settings_help


def version() -> str:
    """The installed package's version.

    Returns:
        The version pyproject.toml gave the installed package, or "unknown" when run from an uninstalled tree.
    """
    from importlib import metadata

    try:
        return metadata.version("coldwar-rag")
    except metadata.PackageNotFoundError:
        return "unknown"


class _Version(argparse.Action):
    """--version, read from the package metadata only when asked for: importing importlib.metadata is about
    20 ms, more than a quarter of `coldwar-rag search --help` without it (rag.commands.registered)."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"coldwar-rag {version()}")
        parser.exit()


def build_parser(prog: str = "coldwar-rag", command: str | None = None,
                 registry: dict[str, Registration] | None = None) -> CommandParser:
    """The whole command line; each subcommand's flags come from the module that runs it.

    Args:
        prog: The program name usage lines and errors start with.
        command: The command about to run: only its module is imported. None (or an unknown name) imports
            every command, for the list `--help` and argparse's errors give.
        registry: The commands by name (`rag.commands.registered()`); None finds them.

    Returns:
        The parser; `parse_args(...).run(args)` runs the chosen command.
    """
    registry = registered(command=command) if registry is None else registry
    epilog = f"{settings_help()}\n\n{EXIT_CODES}"
    if command not in registry and (missing := not_installed(registry)):
        epilog = f"note: {missing}\n\n{epilog}"
    parser = CommandParser(prog=prog, description=__doc__, epilog=epilog)
    parser.add_argument("--version", action=_Version, nargs=0, help="show program's version number and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, subcommand in load(registry, command):
        subcommand.add_to(commands, name)
    return parser


def main(argv: list[str] | None = None, prog: str = "coldwar-rag",
         entry_points: Iterable[Registration] | None = None) -> int:
    """Parse, run the chosen command, report a RagError as one line with its exit status.

    Args:
        argv: The arguments after the program name; None reads `sys.argv`.
        prog: The program name usage lines and errors start with.
        entry_points: The contributed commands; None reads the installed package's entry points.

    Returns:
        The exit status (usage errors exit 2 through SystemExit, as argparse does).
    """
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv and not argv[0].startswith("-") else None
    registry = registered(entry_points, command)
    parser = build_parser(prog, command, registry)
    if command is not None and (missing := not_installed(registry, command)):
        parser.error(missing)
    if not argv:  # like argparse: the usage and a one-line error, status 2
        parser.print_usage(sys.stderr)
    args = parser.parse_args(argv)
    return run_command(lambda: args.run(args))


if __name__ == "__main__":
    sys.exit(main())
