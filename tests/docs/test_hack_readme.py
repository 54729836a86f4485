"""hack/README.md describes everything at hack/'s top level, and hack/ keeps its naming rules:
commands at the top level have no extension, scripts in the purpose folders are kebab-case.sh
(shell) or snake_case.py (Python)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HACK = ROOT / "hack"
README = (HACK / "README.md").read_text()
# Top-level names that keep their extension: make, CI and the docs call them by these names.
NAMED_WITH_EXTENSION = {"setup.sh", "gen-secrets.sh", "versions.env", "README.md"}
# The e2e cluster's kubectl and tkn: commands a person types inside hack/e2e.
FOLDER_COMMANDS = {"e2e/kubectl", "e2e/tkn"}


def first_line(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.readline()


def is_shell(path: Path) -> bool:
    line = first_line(path)
    return path.suffix == ".sh" or (line.startswith(b"#!") and re.search(rb"\b(ba)?sh\b", line))


def is_python(path: Path) -> bool:
    line = first_line(path)
    return path.suffix == ".py" or (line.startswith(b"#!") and b"python" in line)


def test_every_top_level_entry_is_described():
    described = set(re.findall(r"`([\w.-]+)[` ,]", README)) | set(
        re.findall(r"\[([\w.-]+)/\]", README)
    )
    entries = {p.name for p in HACK.iterdir() if not p.name.startswith(".")} - {"README.md"}
    assert entries - described == set()


def test_top_level_commands_have_no_extension_and_run():
    for path in HACK.iterdir():
        if path.is_dir() or path.name in NAMED_WITH_EXTENSION:
            continue
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", path.name), path.name
        assert path.stat().st_mode & 0o111, f"hack/{path.name} is not executable"


def test_scripts_in_the_folders_follow_one_naming_style():
    wrong = []
    for path in sorted(HACK.glob("*/**/*")):
        rel = path.relative_to(HACK).as_posix()
        if not path.is_file() or "node_modules" in path.parts or rel in FOLDER_COMMANDS:
            continue
        if is_shell(path) and not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*\.sh", path.name):
            wrong.append(rel)
        elif is_python(path) and not re.fullmatch(r"[a-z0-9_]+\.py", path.name):
            wrong.append(rel)
    assert wrong == []
