#!/usr/bin/env python3
"""Build govulncheck's offline vulnerability database from the golang.org/x/vulndb module.

    hack/tools/vulndb.py OSV_DIR DEST MODIFIED

OSV_DIR is the module's data/osv folder (one OSV entry per file, as `go mod download -json
golang.org/x/vulndb@VERSION` unpacks it); DEST becomes a database in the layout govulncheck reads
with `-db file://DEST`: index/db.json, index/modules.json and ID/<id>.json. MODIFIED (RFC 3339)
is the database's date, which govulncheck reports: the module version's commit time (the OSV
files in the repository carry no dates of their own). The database is written to a temporary
sibling first and renamed into place, so DEST is complete or absent.

The index leaves out each module entry's optional "fixed" version: govulncheck uses it only to
skip fetching entries that cannot apply, so without it every entry of a module is read and
matched against its full version ranges (always correct; the files are local).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from pathlib import Path


def build(osv_dir: Path, dest: Path, modified: str) -> tuple[int, int]:
    """Write the database; return (entries, modules)."""
    entries = sorted(osv_dir.glob("*.json"))
    if not entries:
        raise SystemExit(f"vulndb: no OSV entries in {osv_dir}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
    try:
        (tmp / "ID").mkdir()
        (tmp / "index").mkdir()
        modules: dict[str, list[dict[str, str]]] = {}
        for path in entries:
            entry = json.loads(path.read_text())
            vuln_id = entry["id"]
            (tmp / "ID" / f"{vuln_id}.json").write_text(json.dumps(entry))
            for affected in entry.get("affected", []):
                module = affected["package"]["name"]
                vuln = {"id": vuln_id, "modified": entry["modified"]}
                modules.setdefault(module, []).append(vuln)
        (tmp / "index" / "db.json").write_text(json.dumps({"modified": modified}))
        index = [{"path": path, "vulns": vulns} for path, vulns in sorted(modules.items())]
        (tmp / "index" / "modules.json").write_text(json.dumps(index))
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return len(entries), len(modules)


def main(argv: list[str]) -> int:
    if len(argv) != 3 or not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", argv[2]):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    count, modules = build(Path(argv[0]), Path(argv[1]), argv[2])
    print(f"vulndb: {count} entries for {modules} modules in {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
