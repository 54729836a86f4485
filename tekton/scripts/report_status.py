#!/usr/bin/env python3
"""Report a pipeline run's outcome: a summary in the log and, when a token is configured, a GitHub
commit status on the built commit.

Environment (all set by the report-status Task from params, never templated into code):
  AGGREGATE_STATUS  the Pipeline's aggregate tasks status: Succeeded | Completed | Failed | None
  TASK_STATUSES     "name=status" pairs, comma-separated (e.g. deploy-staging=Succeeded)
  COMMIT            full commit SHA the status belongs to
  REPO_URL          the repository URL (https://github.com/OWNER/REPO[.git] or git@...:OWNER/REPO)
  CONTEXT           the status context, e.g. tekton/cd
  TARGET_URL        link shown on the commit (the run in the Tekton Dashboard), optional
  GITHUB_TOKEN      token with repo:status scope; empty means: log only
  GITHUB_API_URL    API base (default https://api.github.com; GitHub Enterprise: https://HOST/api/v3)

Exit status: 0 (a reporting problem is logged, never fails the run), 2 on a bad GITHUB_API_URL.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.request

STATES = {"Succeeded": "success", "Completed": "success", "Failed": "failure"}
REPO_PATTERNS = (
    re.compile(r"^https?://[^/]+/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?/?$"),
    re.compile(r"^(?:ssh://)?git@[^:/]+[:/](?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?$"),
)


def parse_repo(url: str) -> tuple[str, str]:
    """OWNER and REPO from a GitHub clone URL; ValueError when it is not one."""
    for pattern in REPO_PATTERNS:
        if match := pattern.match(url.strip()):
            return match["owner"], match["repo"]
    raise ValueError(f"not a GitHub repository URL: {url!r}")


def build_status(env: dict[str, str]) -> dict[str, str]:
    """The commit status body for the run described by env."""
    aggregate = env.get("AGGREGATE_STATUS", "None")
    state = STATES.get(aggregate, "error")
    tasks = [t for t in env.get("TASK_STATUSES", "").split(",") if "=" in t]
    failed = [t.split("=", 1)[0] for t in tasks if t.split("=", 1)[1] == "Failed"]
    description = f"pipeline {aggregate.lower()}"
    if failed:
        description += ": failed " + ", ".join(failed)
    body = {
        "state": state,
        "description": description[:140],  # GitHub's limit
        "context": env.get("CONTEXT") or "tekton",
    }
    if env.get("TARGET_URL"):
        body["target_url"] = env["TARGET_URL"]
    return body


def main(env: dict[str, str]) -> int:
    commit = env.get("COMMIT", "")
    body = build_status(env)
    print(f"report-status: {commit} {body['context']}: {body['state']} ({body['description']})")
    for item in filter(None, env.get("TASK_STATUSES", "").split(",")):
        print(f"  {item}")
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        print(f"report-status: {commit!r} is not a full commit SHA: commit status not sent")
        return 0
    token = env.get("GITHUB_TOKEN", "").strip()
    if not token:
        print("report-status: no GitHub token configured: commit status not sent")
        return 0
    try:
        owner, repo = parse_repo(env.get("REPO_URL", ""))
    except ValueError as exc:
        print(f"report-status: {exc}: commit status not sent", file=sys.stderr)
        return 0
    api = (env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")
    if not api.startswith(("https://", "http://")):
        print(f"report-status: GITHUB_API_URL must be http(s): {api!r}", file=sys.stderr)
        return 2
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        f"{api}/repos/{owner}/{repo}/statuses/{commit}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "Content-Type": "application/json",
            "User-Agent": "techcommerce-tekton",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
            print(f"report-status: GitHub answered {response.status}")
    except (urllib.error.URLError, TimeoutError) as exc:
        print(f"report-status: could not send the commit status: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(dict(os.environ)))
