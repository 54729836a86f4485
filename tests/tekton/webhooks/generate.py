"""Write the sample GitHub webhook deliveries in this directory: NAME.json (the body, byte for
byte as sent) and NAME.headers (the request headers, signed with the test secret).

    .venv/bin/python tests/tekton/webhooks/generate.py

The shapes follow GitHub's push, pull_request and ping payloads (trimmed of fields no binding or
filter reads, which GitHub sends but nothing here uses). The secret is a test value, also set in
tests/tekton/test_triggers.py; it protects nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path

HERE = Path(__file__).parent
SECRET = b"techcommerce-test-webhook-secret"
REPO = {
    "id": 812345678,
    "node_id": "R_kgDOMGzRzg",
    "name": "techcommerce",
    "full_name": "techcommerce/techcommerce",
    "private": False,
    "owner": {"login": "techcommerce", "id": 170000001, "type": "Organization"},
    "html_url": "https://github.com/techcommerce/techcommerce",
    "clone_url": "https://github.com/techcommerce/techcommerce.git",
    "ssh_url": "git@github.com:techcommerce/techcommerce.git",
    "default_branch": "main",
}
SENDER = {"login": "alice", "id": 1000001, "type": "User"}
BEFORE = "9f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c"
AFTER = "4e8d2c6b1a0f9e8d7c6b5a493827161504f3e2d1"


def commit(sha: str, message: str, added=(), modified=(), removed=()) -> dict:
    return {
        "id": sha,
        "tree_id": hashlib.sha1(sha.encode(), usedforsecurity=False).hexdigest(),
        "distinct": True,
        "message": message,
        "timestamp": "2026-11-27T09:12:44+00:00",
        "url": f"{REPO['html_url']}/commit/{sha}",
        "author": {"name": "Alice", "email": "alice@example.com", "username": "alice"},
        "committer": {"name": "Alice", "email": "alice@example.com", "username": "alice"},
        "added": list(added),
        "removed": list(removed),
        "modified": list(modified),
    }


def push(ref: str, commits: list[dict], before: str = BEFORE, after: str = AFTER, **extra) -> dict:
    body = {
        "ref": ref,
        "before": before,
        "after": after,
        "repository": REPO,
        "pusher": {"name": "alice", "email": "alice@example.com"},
        "sender": SENDER,
        "created": before == "0" * 40,
        "deleted": after == "0" * 40,
        "forced": False,
        "base_ref": None,
        "compare": f"{REPO['html_url']}/compare/{before[:12]}...{after[:12]}",
        "commits": commits,
        "head_commit": commits[-1] if commits else None,
    }
    body.update(extra)
    return body


def pull_request(action: str) -> dict:
    return {
        "action": action,
        "number": 42,
        "pull_request": {
            "url": "https://api.github.com/repos/techcommerce/techcommerce/pulls/42",
            "id": 2100000042,
            "number": 42,
            "state": "open" if action != "closed" else "closed",
            "title": "Cart: keep quantities across sessions",
            "user": SENDER,
            "head": {
                "label": "alice:feature/cart-v2",
                "ref": "feature/cart-v2",
                "sha": AFTER,
                "repo": {**REPO, "full_name": "alice/techcommerce"},
            },
            "base": {
                "label": "techcommerce:main",
                "ref": "main",
                "sha": BEFORE,
                "repo": REPO,
            },
            "merged": False,
        },
        "repository": REPO,
        "sender": SENDER,
    }


def ping() -> dict:
    return {
        "zen": "Keep it logically awesome.",
        "hook_id": 498765432,
        "hook": {"type": "Repository", "id": 498765432, "events": ["push", "pull_request"]},
        "repository": REPO,
        "sender": SENDER,
    }


def headers(event: str, body: bytes, signature: str | None = "good") -> str:
    lines = [
        "POST / HTTP/1.1",
        "Accept: */*",
        "Content-Type: application/json",
        "User-Agent: GitHub-Hookshot/8e0a7b2",
        f"X-GitHub-Delivery: {uuid.uuid5(uuid.NAMESPACE_URL, body.decode(errors='replace'))}",
        f"X-GitHub-Event: {event}",
        "X-GitHub-Hook-ID: 498765432",
        "X-GitHub-Hook-Installation-Target-ID: 812345678",
        "X-GitHub-Hook-Installation-Target-Type: repository",
    ]
    if signature is not None:
        key = SECRET if signature == "good" else b"some-other-secret"
        sha1 = hmac.new(key, body, hashlib.sha1).hexdigest()
        sha256 = hmac.new(key, body, hashlib.sha256).hexdigest()
        lines += [f"X-Hub-Signature: sha1={sha1}", f"X-Hub-Signature-256: sha256={sha256}"]
    return "\n".join(lines) + "\n"


def js(obj) -> bytes:
    return json.dumps(obj, indent=2).encode() + b"\n"


def signed_push(ref: str, commits: list[dict], **shas: str) -> tuple[str, bytes, str]:
    """A push delivery of `commits` to `ref`, signed with the right secret."""
    return "push", js(push(ref, commits, **shas)), "good"


def samples() -> dict[str, tuple[str, bytes, str | None]]:
    product_api_change = commit(
        AFTER, "product-api: paginate /products", modified=["services/product_api/views.py"]
    )
    one_service = signed_push("refs/heads/main", [product_api_change])
    return {
        "push-main-one-service": one_service,
        "push-main-shared-code": signed_push(
            "refs/heads/main",
            [
                commit(BEFORE, "docs", modified=["README.md"]),
                commit(AFTER, "kit: pool timeout", modified=["services/kit/db.py"]),
            ],
        ),
        "push-main-docs-only": signed_push(
            "refs/heads/main",
            [commit(AFTER, "docs", modified=["README.md"], added=["docs/runbook.md"])],
        ),
        "push-main-tests-only": signed_push(
            "refs/heads/main", [commit(AFTER, "tests", added=["tests/e2e/test_x.py"])]
        ),
        "push-develop-two-services": signed_push(
            "refs/heads/develop",
            [
                commit(BEFORE, "order-api", modified=["services/order_api/orders.py"]),
                commit(AFTER, "frontend", added=["services/frontend/templates/x.html"]),
            ],
        ),
        "push-feature-branch-with-slash": signed_push(
            "refs/heads/feature/cart-v2",
            [commit(AFTER, "frontend: cart", modified=["services/frontend/cart.py"])],
        ),
        "push-new-branch": signed_push(
            "refs/heads/fix/typo",
            [commit(AFTER, "fix", modified=["services/order_api/app.py"])],
            before="0" * 40,
        ),
        "push-tag": signed_push("refs/tags/v1.2.0", [], before="0" * 40),
        "push-branch-deleted": signed_push("refs/heads/feature/old", [], after="0" * 40),
        "pull-request-opened": ("pull_request", js(pull_request("opened")), "good"),
        "pull-request-synchronize": ("pull_request", js(pull_request("synchronize")), "good"),
        "pull-request-closed": ("pull_request", js(pull_request("closed")), "good"),
        "ping": ("ping", js(ping()), "good"),
        "wrong-event-type": ("issues", js({"action": "opened", "repository": REPO}), "good"),
        "bad-signature": ("push", one_service[1], "bad"),
        "missing-signature": ("push", one_service[1], None),
        "malformed-json": ("push", b'{"ref": "refs/heads/main", "after": \n', "good"),
    }


def main() -> None:
    for name, (event, body, signature) in samples().items():
        (HERE / f"{name}.json").write_bytes(body)
        (HERE / f"{name}.headers").write_text(headers(event, body, signature))


if __name__ == "__main__":
    main()
