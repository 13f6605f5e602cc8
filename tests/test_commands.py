"""The subcommands of `coldwar-rag` and where they come from (rag/commands.py): rag's own, and rebuild and serve
contributed through the package's entry points, each imported only when it runs. Entry points are passed in as
objects here, so none of this needs the package (re)installed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata

import pytest
from conftest import ROOT

from rag.cli import build_parser, main
from rag.commands import GROUP, Builtin, Command, registered

#: The data flow's order, which `coldwar-rag --help` lists the commands in.
ORDER = ["corpus", "rebuild", "search", "answer", "serve"]


def declared() -> list[metadata.EntryPoint]:
    """The entry points pyproject.toml registers, as the installed metadata would give them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [metadata.EntryPoint(name, value, GROUP) for name, value in project["entry-points"][GROUP].items()]


class Fake:
    """A registration that records being loaded."""

    def __init__(self, name: str, loads: list[str], order: int = 60):
        self.name, self.loads, self.order = name, loads, order

    def load(self) -> Command:
        self.loads.append(self.name)
        return Command(help=f"the {self.name} command", description=self.name, add_arguments=lambda parser: None,
                       run=lambda args: 0, order=self.order)


def listed(help_text: str) -> list[str]:
    """The command names `--help` lists, in its order."""
    return re.findall(r"^    (\w+)  +", help_text, flags=re.MULTILINE)


def test_rebuild_and_serve_are_registered_by_the_code_they_drive():
    import app
    from embeddings import rebuild

    commands = {entry.name: entry.load() for entry in declared()}
    assert {entry.name: entry.value for entry in declared()} == {
        "rebuild": "embeddings.rebuild:command", "serve": "app:command"}
    assert (commands["rebuild"].run, commands["rebuild"].add_arguments) == (rebuild.run, rebuild.add_arguments)
    assert (commands["serve"].run, commands["serve"].add_arguments) == (app.run, app.add_arguments)
    assert all(isinstance(command, Command) for command in commands.values())


def test_help_lists_every_command_in_the_data_flow_order(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"], entry_points=declared())
    out = capsys.readouterr().out
    assert done.value.code == 0 and listed(out) == ORDER
    assert "pip install" not in out


def test_only_the_command_that_runs_is_imported():
    loads: list[str] = []
    registry = registered([Fake("serve", loads), Fake("rebuild", loads)], command="serve")
    build_parser(command="serve", registry=registry)
    assert loads == ["serve"]
    build_parser(command=None, registry=registry)  # --help: all of them
    assert loads == ["serve", "serve", "rebuild"]


def test_rags_own_command_reads_no_entry_point():
    loads: list[str] = []
    assert main(["corpus", "stats", str(ROOT / "corpus"), "--json"], entry_points=[Fake("serve", loads)]) == 0
    assert loads == []


def test_a_contributed_command_cannot_replace_one_of_rags_own():
    loads: list[str] = []
    registry = registered([Fake("search", loads), Fake("serve", loads), Fake("serve", loads, order=1)])
    assert isinstance(registry["search"], Builtin) and list(registry) == ["corpus", "search", "answer", "serve"]
    assert registry["serve"].order == 60  # the first registration of a name wins


def test_search_imports_neither_the_page_nor_the_rebuild():
    heavy = ("app", "embeddings", "gradio", "fastapi", "torch", "sentence_transformers", "onnxruntime", "faiss",
             "bm25s", "numpy")
    code = ("import sys\nfrom rag.cli import main\ntry:\n    main(['search', '--help'])\nexcept SystemExit:\n    pass\n"
            f"print('HEAVY', *(m for m in {heavy!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "usage: coldwar-rag search" in done.stdout and done.stdout.splitlines()[-1] == "HEAVY", done.stdout


def test_a_command_of_the_uninstalled_tree_names_the_install_command(capsys):
    with pytest.raises(SystemExit) as done:
        main(["serve", "--port", "8000"], entry_points=[])
    err = capsys.readouterr().err
    assert done.value.code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: coldwar-rag: the serve command comes with the installed package: "
                          f"pip install -e {ROOT}")
    with pytest.raises(SystemExit):
        main(["--help"], entry_points=[])
    out = capsys.readouterr().out
    assert listed(out) == ["corpus", "search", "answer"]
    assert "note: the rebuild and serve commands come with the installed package" in out


def test_an_unknown_command_lists_the_choices_without_an_install_note(capsys):
    with pytest.raises(SystemExit) as done:
        main(["serch", "x"], entry_points=[])
    err = capsys.readouterr().err
    assert done.value.code == 2 and "invalid choice: 'serch' (choose from 'corpus', 'search', 'answer')" in err
    assert "pip install" not in err
