"""Which READMEs the docs tests read: every README.md git tracks or would track."""

from __future__ import annotations

import subprocess
from pathlib import Path

PATTERNS = (":(icase)README.md", ":(icase)*/README.md")  # git pathspecs, any depth


def readmes(root: Path) -> list[str]:
    """Every README.md under ROOT that git tracks or would track (new, not ignored), as paths
    relative to ROOT: the root one first, then by path."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *PATTERNS],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    found = {name for name in listed if name and (root / name).is_file()}
    return sorted(found, key=lambda name: ("/" in name, name))
