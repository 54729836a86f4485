"""Test support shared by every test tree (services/*/tests and tests/)."""
