"""Fixtures for the manifest tests: what a deploy of each environment applies
(manifests/deploy/ENV: the overlay and its generated Secrets), rendered once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from manifests.manifest_lib import ENVIRONMENTS, Rendered, copy_manifests, kustomize


@pytest.fixture(scope="session")
def manifests_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_manifests(tmp_path_factory.mktemp("manifests"))


@pytest.fixture(scope="session")
def rendered_all(manifests_copy: Path) -> dict[str, Rendered]:
    out = manifests_copy.parent / "rendered"
    out.mkdir()
    return {
        name: Rendered.from_text(
            name, out / f"{name}.yaml", kustomize(manifests_copy / "deploy" / name)
        )
        for name in ENVIRONMENTS
    }


@pytest.fixture(params=ENVIRONMENTS)
def rendered(request: pytest.FixtureRequest, rendered_all: dict[str, Rendered]) -> Rendered:
    return rendered_all[request.param]
