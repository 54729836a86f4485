"""The README's commands, paths and links point at things that exist."""

import re
import subprocess
from pathlib import Path

import pytest

from support.readmes import readmes

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
DOCS = [ROOT / name for name in readmes(ROOT)]  # every README, at any depth


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    in_code = False
    found = set()
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            found.add(slug(line.lstrip("#")))
    return found


def test_make_targets_in_the_readme_exist():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, flags=re.M))
    code = "\n".join(re.findall(r"```.*?```|`[^`]+`", README, flags=re.S))
    used = set(re.findall(r"\bmake ([a-z][\w-]*)", code))
    assert {"run", "test"} <= used
    assert used <= targets, used - targets


def test_paths_named_in_the_readme_exist():
    paths = set(
        re.findall(r"`((?:hack|services|manifests|tekton|monitoring|tests)/[\w./-]+)", README)
    )
    paths |= set(re.findall(r"\b(hack/[\w.-]+)", README))
    assert len(paths) > 10
    missing = sorted(p for p in paths if not (ROOT / p.rstrip(".")).exists())
    assert missing == []


def test_webhook_samples_named_in_the_readme_exist():
    for sample in re.findall(r"--sample ([\w-]+)", README):
        assert (ROOT / "tests" / "tekton" / "webhooks" / f"{sample}.json").exists(), sample


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_and_anchors_resolve(doc):
    text = doc.read_text()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+://", target) or target.startswith("mailto:"):
            continue
        path_part, _, anchor = target.partition("#")
        linked = (doc.parent / path_part).resolve() if path_part else doc
        assert linked.exists(), f"{doc.name}: link to missing {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), (
                f"{doc.name}: no heading for #{anchor} in {linked.name}"
            )


SECRET_FILE = re.compile(
    r"(?:>\s*|--from-file=[\w.-]+=|--from-env-file=|--secret-file\s+)([\w./-]*secret[\w./-]*)"
)


def test_every_secret_file_the_docs_create_or_read_is_ignored_by_git():
    """One place for generated secrets (.cluster/), ignored by git: no document has a user
    write a secret where `git add .` would pick it up."""
    named = {path for doc in DOCS for path in SECRET_FILE.findall(doc.read_text())}
    assert named, "the docs name no secret file: the pattern is stale"
    for path in sorted(named):
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT, check=False
        )
        assert ignored.returncode == 0, f"{path} is a secret file git would not ignore"


OLD_SECRET_PLACE = re.compile(r"overlays/[\w{},*]+/secrets|OVERLAY/secrets|overlays' secrets")


def test_generated_secrets_have_one_home_in_every_document():
    """hack/gen-secrets.sh writes .cluster/secrets/ENV (where cluster-up keeps the webhook secret
    and registry credentials too); no document or script names another place."""
    texts = {
        path: path.read_text()
        for path in [
            *DOCS,
            *sorted(ROOT.glob("tekton/**/*.md")),
            *sorted(ROOT.glob("tekton/**/*.yaml")),
            *sorted(ROOT.glob("manifests/**/*.yaml")),
            *sorted(p for p in ROOT.glob("hack/**/*") if p.is_file() and p.suffix in ("", ".sh")),
        ]
    }
    stale = [
        f"{path.relative_to(ROOT)}: {match}"
        for path, text in texts.items()
        for match in OLD_SECRET_PLACE.findall(text)
        if path.name != "gen-secrets.sh"  # it moves files from the old place
    ]
    assert stale == []
    for name in ("webhook-secret", "secrets/staging/postgres.env", "secrets/production"):
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", "--no-index", f".cluster/{name}"], cwd=ROOT, check=False
        )
        assert ignored.returncode == 0, name
