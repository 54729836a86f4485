"""Fixtures for the manifest tests: every overlay rendered once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from manifests.manifest_lib import Rendered, copy_manifests, kustomize, overlay_names


@pytest.fixture(scope="session")
def manifests_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_manifests(tmp_path_factory.mktemp("manifests"))


@pytest.fixture(scope="session")
def rendered_all(manifests_copy: Path) -> dict[str, Rendered]:
    out = manifests_copy.parent / "rendered"
    out.mkdir()
    return {
        name: Rendered.from_text(
            name, out / f"{name}.yaml", kustomize(manifests_copy / "overlays" / name)
        )
        for name in overlay_names()
    }


@pytest.fixture(params=overlay_names())
def rendered(request: pytest.FixtureRequest, rendered_all: dict[str, Rendered]) -> Rendered:
    return rendered_all[request.param]
