"""Every command README.md and docs/ give runs as written on a fresh clone (issue 9).

Running the blocks themselves would need Docker, long-running servers and minutes each, so
each command is checked the way a shell would first fail on it: the program exists where the
command says (a fresh clone has no `python`, `stockfeatures` or `feast` on PATH, only
.venv/bin/...), `make` knows the target, the CLI's argument parser accepts the arguments as
written, a `cd` or a named file exists, and `docker compose` names real services.
docs/operations.md is about the Docker stack, whose image has the programs on PATH: there the
bare program names are allowed and only the arguments are checked.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.fresh_machine.doc_commands import REPO, SUBSTITUTED, Command, doc_commands

COMMANDS = doc_commands()
VENV_PROGRAMS = {"python", "stockfeatures", "feast", "prefect", "pytest", "ruff", "uv"}
DOCKER_DOC = "docs/operations.md"
SHELL_BUILTINS_AND_SYSTEM = {"eval", "date", "cp", "openssl", "psql", "pg_dump", "pg_restore",
                             "redis-cli", "curl", "export", "source", ".", "git", "bash"}


def _parses(parser, argv: list[str]) -> str | None:
    """None when argparse accepts argv, else its error message."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(argv)
    except SystemExit as exit_:
        if exit_.code:
            return stderr.getvalue().strip().splitlines()[-1]
    return None


def _stockfeatures_parser():
    from stockfeatures.cli.parser import build_parser

    return build_parser()


def _pipelines_parser():
    from pipelines.__main__ import _parser

    return _parser()


def _feast_commands() -> set[str]:
    from feast.cli.cli import cli

    return set(cli.commands)


def _compose_services() -> set[str]:
    return set(yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"])


def _program(command: Command) -> tuple[str, list[str]]:
    """(program name, arguments); checks that a path-qualified program exists."""
    program, *args = command.argv
    if "/" in program:
        resolved = (command.cwd / program).resolve()
        assert resolved.is_relative_to(REPO / ".venv") or resolved.exists(), \
            f"{command}: {program} does not exist"
        program = Path(program).name
    elif program in VENV_PROGRAMS and not command.source.startswith(DOCKER_DOC):
        pytest.fail(f"{command}: `{program}` is not on PATH on a fresh clone; write .venv/bin/{program}")
    return program, args


def check_python(command: Command, args: list[str]) -> None:
    if args[:2] == ["-m", "pipelines"]:
        error = _parses(_pipelines_parser(), args[2:])
        assert error is None, f"{command}: {error}"
    elif args and args[0] == "-m":
        assert args[1].split(".")[0] in {"stockfeatures", "pipelines", "pytest"}, str(command)
    elif args and args[0] != "-c":
        assert (command.cwd / args[0]).is_file(), f"{command}: no file {args[0]}"


def check_docker_compose(command: Command, args: list[str]) -> None:
    assert args[0] == "compose", str(command)
    verb, *rest = args[1:]
    names = [word for word in rest if not word.startswith("-")]
    if verb == "exec":
        while rest and rest[0].startswith("-"):  # exec's own options (-T)
            rest = rest[1:]
        service, *inner = rest
        assert service in _compose_services(), f"{command}: no service {service!r}"
        if inner:
            check(Command(command.source, tuple(inner), REPO))
    elif verb in {"stop", "start", "logs", "ps", "restart"}:
        unknown = set(names) - _compose_services()
        assert not unknown, f"{command}: no services {sorted(unknown)}"


def check(command: Command) -> None:
    program, args = _program(command)
    if program == "make":
        targets = [a for a in args if "=" not in a and not a.startswith("-")]
        done = subprocess.run(["make", "-n", "-C", str(REPO), *args], capture_output=True, text=True)
        assert done.returncode == 0, f"{command}: {done.stderr.strip()}"
        assert targets, str(command)
    elif program == "cd":
        assert (command.cwd / args[0]).is_dir(), f"{command}: no folder {args[0]}"
    elif program in {"python", "python3"}:
        check_python(command, args)
    elif program == "stockfeatures":
        error = _parses(_stockfeatures_parser(), args)
        assert error is None, f"{command}: {error}"
    elif program == "feast":
        assert args[0] in _feast_commands(), f"{command}: feast has no command {args[0]!r}"
        if args[0] in {"apply", "materialize-incremental", "materialize", "ui", "plan"}:
            assert (command.cwd / "feature_store.yaml").exists(), \
                f"{command}: feast {args[0]} must run in feature_repo/"
    elif program == "prefect":
        assert args[0] in {"server", "deployment", "flow-run", "artifact", "work-pool", "config"}
    elif program == "docker":
        check_docker_compose(command, args)
    elif program == "cp":
        assert (command.cwd / args[0]).exists(), f"{command}: no file {args[0]}"
    elif program == "redis-cluster.sh":
        assert args[:1] and args[0] in {"start", "stop", "nodes"}, f"{command}: start, stop or nodes"
        assert all(port.isdigit() for port in args[1:]), f"{command}: ports are numbers"
    elif program == "ray-cluster.sh":
        assert args[:1] and args[0] in {"start", "stop", "address", "kill-worker", "start-worker"}, \
            f"{command}: start, stop, address, kill-worker or start-worker"
        assert all(port.isdigit() and port != "6379" for port in args[1:]), f"{command}: one port, not 6379"
    else:
        assert program in SHELL_BUILTINS_AND_SYSTEM or SUBSTITUTED in program, \
            f"{command}: the test does not know how to check `{program}`; teach it"


def test_the_docs_hold_commands_to_check():
    sources = {c.source.split(":")[0] for c in COMMANDS}
    assert {"README.md", "docs/backtesting.md", "docs/pipelines.md", "docs/operations.md"} <= sources


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_documented_command_runs_as_written(command: Command):
    check(command)


def test_the_checker_rejects_what_a_fresh_clone_cannot_run():
    bad = [
        Command("x", ("python", "examples/backtest.py"), REPO),  # not on PATH
        Command("x", (".venv/bin/python", "examples/no_such_example.py"), REPO),
        Command("x", ("make", "no-such-target"), REPO),
        Command("x", (".venv/bin/stockfeatures", "no-such-command"), REPO),
        Command("x", (".venv/bin/stockfeatures", "ingest", "--source", "bloomberg"), REPO),
        Command("x", ("cd", "feature_repo"), REPO / "feature_repo"),  # a second cd in one shell
        Command("x", ("docker", "compose", "exec", "no-such-service", "ls"), REPO),
    ]
    for command in bad:
        with pytest.raises((AssertionError, pytest.fail.Exception)):
            check(command)
