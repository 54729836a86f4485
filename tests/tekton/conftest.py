"""Fixtures for the Tekton tests: the validator and tekton-lint, a copy of tekton/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tekton.tekton_helpers import MISSING, TEKTON, TEKTON_LINT, VALIDATOR, run


@pytest.fixture(scope="session")
def validator() -> Path:
    """hack/tekton-validate, built (by itself) from the current sources."""
    result = run([VALIDATOR, "--help"], timeout=1800)
    assert result.returncode == 0, result.stderr
    return VALIDATOR


@pytest.fixture(scope="session")
def tekton_lint() -> Path:
    assert TEKTON_LINT.is_file(), f"{TEKTON_LINT} {MISSING}"
    return TEKTON_LINT


@pytest.fixture
def tekton_copy(tmp_path) -> Path:
    """A copy of tekton/ to break on purpose."""
    dest = tmp_path / "tekton"
    shutil.copytree(TEKTON, dest, ignore=shutil.ignore_patterns("node_modules"))
    return dest
