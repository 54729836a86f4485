"""Test support shared by every test tree (services/*/tests and tests/), importable as `support`
(pyproject.toml's pytest `pythonpath`): `fixtures` (the pytest plugin every run loads), `pg` (the
suite's PostgreSQL), `procs` (services as real processes), `orders` (order request bodies),
`kustomize` (rendering a kustomization), `commands` (running a command a test needs), `browser`
(headless Chromium)."""
