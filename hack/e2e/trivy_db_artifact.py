"""Write a small trivy vulnerability database (hack/e2e/src/trivy-db) and push it to the e2e
cluster's registry as the OCI artifact trivy downloads with `--db-repository`: one layer of
media type application/vnd.aquasec.trivy.db.layer.v1.tar+gzip, titled db.tar.gz, holding
trivy.db and metadata.json (the layout of trivy's own database). No database can be downloaded
here; the trivy Tasks of the e2e cluster read this one through the cluster setting
trivy-db-repository, and real clusters keep trivy's own.

    trivy_db_artifact.py WRITER REGISTRY REPOSITORY:TAG [ADVISORY...]

ADVISORY is ECOSYSTEM|PACKAGE|VULNERABLE|ID|SEVERITY (the writer's syntax); none: an empty
database. Prints REGISTRY/REPOSITORY:TAG. The registry speaks plain HTTP (the e2e cluster's own).
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

LAYER_TYPE = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip"
CONFIG_TYPE = "application/vnd.aquasec.trivy.config.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
TIMEOUT = 30
USAGE = "usage: trivy_db_artifact.py WRITER REGISTRY REPOSITORY:TAG [ADVISORY...]"


def database_archive(writer: str, advisories: list[str]) -> bytes:
    """db.tar.gz of a database holding ADVISORIES: trivy.db and metadata.json at its root."""
    with tempfile.TemporaryDirectory() as work:
        subprocess.run([writer, work, *advisories], check=True, timeout=120)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for name in ("trivy.db", "metadata.json"):
                archive.add(Path(work) / name, arcname=name)
        return buffer.getvalue()


def descriptor(media_type: str, data: bytes) -> dict:
    return {
        "mediaType": media_type,
        "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }


def upload_blob(base: str, repository: str, data: bytes) -> None:
    """The blob in one monolithic upload (POST for a location, then PUT with its digest)."""
    start = urllib.request.Request(f"{base}/v2/{repository}/blobs/uploads/", method="POST")
    with urllib.request.urlopen(start, timeout=TIMEOUT) as answer:
        location = urllib.parse.urljoin(base, answer.headers["Location"])
    digest = descriptor("", data)["digest"]
    separator = "&" if "?" in location else "?"
    put = urllib.request.Request(
        f"{location}{separator}digest={urllib.parse.quote(digest)}",
        data=data,
        method="PUT",
        headers={"Content-Type": "application/octet-stream"},
    )
    urllib.request.urlopen(put, timeout=TIMEOUT).close()


def push(registry: str, reference: str, layer: bytes) -> str:
    """Push LAYER as a single-layer trivy database artifact to REGISTRY/REFERENCE."""
    repository, _, tag = reference.rpartition(":")
    base = f"http://{registry}"
    config = b"{}"
    for blob in (config, layer):
        upload_blob(base, repository, blob)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": descriptor(CONFIG_TYPE, config),
        "layers": [
            descriptor(LAYER_TYPE, layer)
            | {"annotations": {"org.opencontainers.image.title": "db.tar.gz"}}
        ],
    }
    put = urllib.request.Request(
        f"{base}/v2/{repository}/manifests/{tag}",
        data=json.dumps(manifest).encode(),
        method="PUT",
        headers={"Content-Type": MANIFEST_TYPE},
    )
    urllib.request.urlopen(put, timeout=TIMEOUT).close()
    return f"{registry}/{reference}"


def main(argv: list[str]) -> int:
    if len(argv) < 3 or ":" not in argv[2]:
        print(USAGE, file=sys.stderr)
        return 2
    writer, registry, reference, *advisories = argv
    print(push(registry, reference, database_archive(writer, advisories)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
