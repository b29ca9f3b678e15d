"""The README and the CLI agree: commands, options and exit codes cannot drift apart."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from triage import errors
from triage.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLES = [
    line.split("#")[0].strip()
    for line in README.splitlines()
    if line.lstrip().startswith((".venv/bin/triage", "cat ")) and "triage" in line
]


def help_text(command: str) -> str:
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    return result.output


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_readme_example_uses_a_real_command_and_real_options(example):
    words = example.split("triage", 1)[1].split()
    command, options = words[0], [word for word in words[1:] if word.startswith("-") and word != "-"]
    text = help_text(command)
    for option in options:
        assert re.search(rf"(^|[\s,]){re.escape(option)}([\s,=]|$)", text, re.M), (
            f"{option} not in `triage {command} --help`"
        )


def test_the_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    assert "make run" in README.split("## Using it")[0] and "make test" in README.split("## Using it")[0]
    assert "make test" in (ROOT / ".ci/run").read_text()


def test_the_taxonomy_is_in_the_repository_verbatim_at_the_version_the_labels_were_made_under():
    from triage.corpus.labeled import TAXONOMY_VERSION

    taxonomy = (ROOT / "docs/taxonomy.md").read_text(encoding="utf-8")
    given = ROOT.parent / "shared/taxonomy.md"  # where the users' copy lives beside a checkout
    if given.exists():
        assert taxonomy == given.read_text(encoding="utf-8")
    version = re.search(r"^Version: (\S+)", taxonomy, re.M).group(1)
    assert version == TAXONOMY_VERSION
    guide = (ROOT / "data/labeled/README.md").read_text(encoding="utf-8")
    assert f"**Version: {version}**" in guide.split("\n", 3)[2]
    assert "](docs/taxonomy.md)" in README and "../shared/taxonomy.md" not in README


def test_the_readme_says_who_wrote_the_data_in_the_projects_terms():
    data = README.split("\n## Data", 1)[1].split("\n## ", 1)[0]
    assert "written for this project by separate authors" in data
    assert "session" not in README.lower()


def test_the_exit_code_table_matches_the_exception_classes():
    table = {}
    for code, last_column in re.findall(r"^\| (\d) \|.*\|([^|]*)\|$", README, re.M):
        table[code] = re.findall(r"`(\w+)`", last_column)
    for code, names in table.items():
        for name in names:
            assert getattr(errors, name).exit_code == int(code)
    assert {"0", "1", "2", "3", "4", "5"} <= set(table)


def test_readme_names_the_default_model_path_and_max_bytes_that_the_cli_uses():
    assert "models/triage.json" in README
    assert "20,000,000" in README and "20000000" in help_text("predict")


def test_the_readme_command_reference_lists_exactly_the_options_of_each_command():
    """Every option `--help` lists is in the README's reference row for its command, and every
    option the reference names exists (as sqlite-utils checks its docs)."""
    import typer.main

    reference = README.split("### Command reference", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `triage (\w+)` \|(.*)\|$", reference, re.M))
    group = typer.main.get_command(app)
    assert set(rows) == set(group.commands)
    for name, command in group.commands.items():
        options = {
            option
            for parameter in command.params
            for option in getattr(parameter, "opts", [])
            if option.startswith("--") and option != "--help"
        }
        assert set(re.findall(r"`(--[\w-]+)", rows[name])) == options, name
