"""Copy the step scripts in tekton/scripts/ into the Tasks that run them.

A Task step carries its script inline (the Task installed in the cluster is then the whole truth:
a pull request cannot change what CI runs on it), while the script lives here as a file that the
tests execute. A step marks the file it embeds on its second line:

      script: |
        #!/bin/sh
        # source: tekton/scripts/git-clone.sh (embedded by tekton/scripts/embed.py: edit the file)
        ...the file without its first (shebang) line...

The step keeps its own shebang (kaniko's debug image only has /busybox/sh). A script may source
a helper next to it with these two lines; the Task carries the helper's text in their place (a
Task's script cannot read files of the checkout):

    # shellcheck source=python-step.sh source-path=SCRIPTDIR
    . "$(dirname "$0")/python-step.sh"

    python tekton/scripts/embed.py          rewrite every Task under tekton/tasks/
    python tekton/scripts/embed.py --check  exit 1 and name the Tasks that are out of date
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(
    r"^(?P<indent>[ ]*)script: \|\n"
    r"(?P=indent)  (?P<shebang>#!.*)\n"
    r"(?P=indent)  # source: (?P<source>\S+)(?P<note>.*)\n",
    re.MULTILINE,
)

SOURCED = re.compile(
    r"^# shellcheck source=(?P<name>[\w.-]+) source-path=SCRIPTDIR\n"
    r'\. "\$\(dirname "\$0"\)/(?P=name)"\n',
    re.MULTILINE,
)


def _inline_sourced(script: str, directory: Path, root: Path) -> str:
    """SCRIPT with each helper it sources written in place (without the helper's first line,
    its `# shellcheck shell=` directive)."""

    def helper(match: re.Match[str]) -> str:
        path = (directory / match["name"]).as_posix()
        text = (root / path).read_text().split("\n", 1)[1]
        return f"# {path} (inlined by tekton/scripts/embed.py):\n{text}# end of {path}\n"

    return SOURCED.sub(helper, script)


def _block_end(text: str, start: int, indent: str) -> int:
    """Offset just past the literal block that starts at `start` (its lines are indented deeper)."""
    pos = start
    deeper = indent + "  "
    while pos < len(text):
        nl = text.find("\n", pos)
        line = text[pos : nl if nl != -1 else len(text)]
        if line.strip() and not line.startswith(deeper):
            break
        pos = len(text) if nl == -1 else nl + 1
    # Trailing blank lines belong to what follows, not to the script.
    while pos > start and text[:pos].endswith("\n\n"):
        pos -= 1
    return pos


def render(text: str, root: Path = ROOT) -> str:
    """The Task text with every marked script replaced by its source file's current content."""
    out: list[str] = []
    pos = 0
    for match in MARKER.finditer(text):
        indent = match["indent"]
        body = (root / match["source"]).read_text().split("\n", 1)[1]
        body = _inline_sourced(body, Path(match["source"]).parent, root)
        end = _block_end(text, match.end(), indent)
        lines = [
            f"{indent}script: |",
            f"{indent}  {match['shebang']}",
            f"{indent}  # source: {match['source']}{match['note']}",
        ]
        lines += [f"{indent}  {line}" if line else "" for line in body.rstrip("\n").split("\n")]
        out.append(text[pos : match.start()])
        out.append("\n".join(lines) + "\n")
        pos = end
    out.append(text[pos:])
    return "".join(out)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for task in sorted((ROOT / "tekton" / "tasks").glob("*/*.yaml")):
        text = task.read_text()
        new = render(text)
        if new != text:
            stale.append(task.relative_to(ROOT))
            if not check:
                task.write_text(new)
    if check and stale:
        print("embedded scripts out of date (run python tekton/scripts/embed.py):", file=sys.stderr)
        for path in stale:
            print(f"  {path}", file=sys.stderr)
        return 1
    for path in stale:
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
