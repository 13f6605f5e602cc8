"""The subcommands of `coldwar-rag`: what one is (`Command`) and where they come from (entry points).

rag's own commands (corpus, search, answer) are listed here. The others are contributed by the code that owns
them, registered in pyproject.toml under the entry-point group `coldwar_rag.commands` (rebuild by
`embeddings.rebuild:command`, serve by `app:command`), so the library never imports its entry scripts. A
registration names a `Command`; it is imported only when that command runs or `--help` lists them all, so
`coldwar-rag search` imports neither the page nor the rebuild.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import argparse

#: The entry-point group other packages (here: embeddings, app) add subcommands through.
GROUP = "coldwar_rag.commands"

#: rag's own commands, `module:attribute` like an entry point's value, each module imported only when needed.
BUILTIN = {"corpus": "rag.cli_corpus:command", "search": "rag.cli_search:search_command",
           "answer": "rag.cli_search:answer_command"}

#: The source tree's pyproject.toml, read only to name a command an uninstalled tree lacks.
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


class Registration(Protocol):
    """What names a command: an `importlib.metadata.EntryPoint`, a `Builtin`, anything with `name` and `load()`."""

    name: str

    def load(self) -> Any:
        """The command it names, imported on first use.

        Returns:
            The `Command` (or a function making one) the registration points to.
        """


@dataclass(frozen=True)
class Command:
    """One subcommand: its line in `coldwar-rag --help`, its own `--help` text, its flags and what runs it.

    Attributes:
        help: The one line `coldwar-rag --help` lists it with.
        description: The text its own `--help` starts with.
        add_arguments: Adds its flags to its parser.
        run: Runs it with the parsed arguments and returns the exit status; a RagError is reported by the caller.
        order: Its place in `coldwar-rag --help`, by the data flow: 10 corpus, 20 index, 30 search, 40 answer,
            50 page.
    """

    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    order: int

    def add_to(self, commands: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
        """Add this command's parser, with its flags, to the top-level parser's subcommands.

        Args:
            commands: What `ArgumentParser.add_subparsers()` returned.
            name: The command's name, as registered.

        Returns:
            The command's parser; `parse_args` sets `run` to this command's `run`.
        """
        parser = commands.add_parser(name, help=self.help, description=self.description)
        self.add_arguments(parser)
        parser.set_defaults(run=self.run)
        return parser


@dataclass(frozen=True)
class Builtin:
    """One of rag's own commands, registered like an entry point: its `name`, its `value`, `load()`."""

    name: str
    value: str

    def load(self) -> Command:
        """Import the command's module.

        Returns:
            The `Command` the value names.
        """
        module, _, attribute = self.value.partition(":")
        return getattr(import_module(module), attribute)


def registered(entry_points: Iterable[Registration] | None = None, command: str | None = None
               ) -> dict[str, Registration]:
    """rag's own commands, then the contributed ones, by name; a contributed name taken already is ignored.

    Args:
        entry_points: The contributed commands; None reads the group from the installed packages' metadata
            (none when this tree is not installed).
        command: The command about to run. When it is one of rag's own, the metadata is not read: importing
            importlib.metadata (about 20 ms) and scanning every installed package made `search --help` take
            88 ms instead of 69 (medians of 20 runs; `python -c pass` takes 20).

    Returns:
        Each command's name and its registration, nothing imported yet.
    """
    found: dict[str, Registration] = {name: Builtin(name, value) for name, value in BUILTIN.items()}
    if command in found:
        return found
    if entry_points is None:
        from importlib import metadata

        entry_points = metadata.entry_points(group=GROUP)
    for entry in entry_points:
        found.setdefault(entry.name, entry)
    return found


def load(registry: Mapping[str, Registration], name: str | None = None) -> list[tuple[str, Command]]:
    """Import the command about to run, or every command (for `--help`, an unknown name or none).

    Args:
        registry: What `registered()` returned.
        name: The command on the command line, if any.

    Returns:
        (name, Command) pairs: the one named, or all of them in their `order`.
    """
    names = [name] if name in registry else list(registry)
    commands = [(each, registry[each].load()) for each in names]
    return sorted(commands, key=lambda pair: pair[1].order)


def not_installed(registry: Mapping[str, Registration], name: str | None = None) -> str | None:
    """What to say of commands the source tree's pyproject.toml declares but the installed metadata lacks: the
    tree is not installed, or was installed before they were declared.

    Args:
        registry: What `registered()` returned.
        name: The command asked for; None asks about all of them (for `--help`).

    Returns:
        The sentence naming the missing command(s) and the install command, or None when none is missing.
    """
    if name in registry:
        return None
    declared = _declared()
    missing = [each for each in ([name] if name is not None else declared)
               if each in declared and each not in registry]
    if not missing:
        return None  # none missing, or an unknown name: argparse lists the choices
    what = f"the {missing[0]} command comes" if len(missing) == 1 else f"the {' and '.join(missing)} commands come"
    return f"{what} with the installed package: pip install -e {PYPROJECT.parent}"


def _declared() -> list[str]:
    """The command names the source tree's pyproject.toml registers (none outside a source tree)."""
    import tomllib

    try:
        project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8")).get("project", {})
    except (OSError, ValueError):
        return []
    return list(project.get("entry-points", {}).get(GROUP, {}))
