"""Request ids: honour a sane incoming X-Request-ID or make one; echo it; log it; pass it on.

kit.middleware applies them to every request."""

from __future__ import annotations

import re
import secrets

HEADER = "X-Request-ID"
accepted_request_id = re.compile(r"[A-Za-z0-9._:-]{1,128}").fullmatch


def new_request_id() -> str:
    """32 random hex digits (128 bits), the length of a UUID's hex form."""
    return secrets.token_hex(16)
