"""Fixtures over real components (see tests/support/fixtures.py)."""

from support.fixtures import *  # noqa: F403
