#!/usr/bin/env python3
"""Send a correctly signed GitHub webhook delivery to a Tekton EventListener, to try the
TechCommerce triggers on a local cluster without GitHub.

    kubectl port-forward -n techcommerce-ci svc/el-techcommerce-github 8080 &
    WEBHOOK_SECRET=... hack/send-webhook http://localhost:8080 --sample push-main-one-service
    hack/send-webhook http://localhost:8080 --payload my-push.json --event push \\
        --secret-file ./webhook-secret

Samples are tests/tekton/webhooks/NAME.json (their event comes from NAME.headers); the body is
sent byte for byte and signed like GitHub does (X-Hub-Signature-256: sha256=HMAC of the body).
The secret comes from --secret-file or the WEBHOOK_SECRET environment variable; it must equal
the `secret` key of the Secret github-webhook-secret in techcommerce-ci.
Exit status: 0 when the listener answered 2xx, 1 otherwise, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "tests" / "tekton" / "webhooks"


def sample_event(name: str) -> str:
    for line in (SAMPLES / f"{name}.headers").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "x-github-event":
            return value.strip()
    raise SystemExit(f"send-webhook: {name}.headers has no X-GitHub-Event")


def signed_headers(body: bytes, event: str, secret: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/send-webhook",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature": "sha1=" + hmac.new(secret, body, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest(),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hack/send-webhook", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="EventListener URL, e.g. http://localhost:8080")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--sample", help="a sample name from tests/tekton/webhooks/")
    source.add_argument("--payload", type=Path, help="a JSON body to send")
    parser.add_argument("--event", help="X-GitHub-Event (required with --payload)")
    parser.add_argument("--secret-file", type=Path, help="file holding the webhook secret")
    parser.add_argument("--dry-run", action="store_true", help="print the request, send nothing")
    args = parser.parse_args(argv)

    if args.sample:
        if not (SAMPLES / f"{args.sample}.json").is_file():
            names = sorted(p.stem for p in SAMPLES.glob("*.json"))
            parser.error(f"no sample {args.sample!r}; samples: {', '.join(names)}")
        body = (SAMPLES / f"{args.sample}.json").read_bytes()
        event = args.event or sample_event(args.sample)
    else:
        if not args.event:
            parser.error("--payload needs --event (push, pull_request, ping, ...)")
        body = args.payload.read_bytes()
        event = args.event
    if args.secret_file:
        secret = args.secret_file.read_bytes().strip()
    elif os.environ.get("WEBHOOK_SECRET"):
        secret = os.environ["WEBHOOK_SECRET"].encode()
    else:
        parser.error("give the webhook secret with --secret-file or WEBHOOK_SECRET")
    if not args.url.startswith(("http://", "https://")):
        parser.error("the URL must be http(s)")

    headers = signed_headers(body, event, secret)
    if args.dry_run:
        print(f"POST {args.url}")
        for key, value in headers.items():
            print(f"{key}: {value}")
        print(f"({len(body)} bytes)")
        return 0
    request = urllib.request.Request(args.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            print(f"{response.status} {response.read().decode(errors='replace').strip()}")
            return 0
    except urllib.error.HTTPError as exc:
        print(f"{exc.code} {exc.read().decode(errors='replace').strip()}", file=sys.stderr)
    except urllib.error.URLError as exc:
        print(f"send-webhook: {exc.reason}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
