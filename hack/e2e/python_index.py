"""A local Python package index for the e2e cluster, filled on the host.

Pods in the e2e cluster reach nothing outside it, so the image builds (kaniko) and the CI steps
(tests, bandit) install their pinned packages from this index, served inside the cluster's network
namespace (hack/e2e/cluster-up.sh). This builds, with the host's pip from the package registry,
a wheel of every requirement (sdists are built here, so the cluster never compiles), then writes
a PEP 503 "simple" index over them:

    OUT/files/NAME-VERSION-...whl
    OUT/simple/index.html           one link per project
    OUT/simple/PROJECT/index.html   one link per file, with its #sha256= digest

Usage: python hack/e2e/python_index.py OUT REQUIREMENT_FILE_OR_SPEC...
Prints OUT; does nothing when OUT/.complete exists (the caller names OUT by the inputs' hash).
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
import subprocess
import sys
from pathlib import Path


def normalized(name: str) -> str:
    """The PEP 503 project name of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def project_of(wheel: Path) -> str:
    """The project a wheel file belongs to (its name up to the first dash, PEP 427)."""
    return normalized(wheel.name.split("-", 1)[0])


def page(title: str, links: list[tuple[str, str]]) -> str:
    body = "\n".join(
        f'    <a href="{html.escape(href)}">{html.escape(text)}</a><br>' for href, text in links
    )
    return (
        f"<!DOCTYPE html>\n<html>\n  <head><title>{html.escape(title)}</title></head>\n"
        f"  <body>\n{body}\n  </body>\n</html>\n"
    )


def write_index(out: Path) -> None:
    projects: dict[str, list[Path]] = {}
    for wheel in sorted((out / "files").glob("*.whl")):
        projects.setdefault(project_of(wheel), []).append(wheel)
    simple = out / "simple"
    shutil.rmtree(simple, ignore_errors=True)
    simple.mkdir()
    (simple / "index.html").write_text(
        page("Simple index", [(f"{name}/", name) for name in sorted(projects)])
    )
    for name, wheels in projects.items():
        links = []
        for wheel in wheels:
            digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
            links.append((f"../../files/{wheel.name}#sha256={digest}", wheel.name))
        (simple / name).mkdir()
        (simple / name / "index.html").write_text(page(f"Links for {name}", links))


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out, requirements = Path(argv[0]), argv[1:]
    if not (out / ".complete").exists():
        shutil.rmtree(out, ignore_errors=True)
        (out / "files").mkdir(parents=True)
        args = []
        for requirement in requirements:
            args += ["-r", requirement] if Path(requirement).is_file() else [requirement]
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--disable-pip-version-check",
                "--wheel-dir",
                str(out / "files"),
                *args,
            ],
            check=True,
        )
        write_index(out)
        (out / ".complete").touch()
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
