"""Request ids: honour a sane incoming X-Request-ID or make one; echo it; log it; pass it on.

kit.middleware applies them to every request."""

from __future__ import annotations

import re
import uuid

HEADER = "X-Request-ID"
accepted_request_id = re.compile(r"[A-Za-z0-9._:-]{1,128}").fullmatch


def new_request_id() -> str:
    return uuid.uuid4().hex
