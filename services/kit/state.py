"""Run-time state a service's probes report."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ServiceState:
    """Shutting down flips to True on SIGTERM: readiness answers 503 from then on."""

    shutting_down: bool = False
