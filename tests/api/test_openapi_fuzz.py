"""Each API's OpenAPI document against the running service (real process, real HTTP, real
PostgreSQL): schemathesis generates valid and invalid requests from the document and checks
that no answer is a 5xx and every answer (status, content type, headers, body) is documented."""

import subprocess
import sys
from pathlib import Path

import pytest

from product_api.seed import seed
from support.fixtures import ADMIN_TOKEN, service_env
from support.procs import start_service

SERVICES = Path(__file__).resolve().parents[2] / "services"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)

APIS = [pytest.param("product_api", id="product-api")]
if (SERVICES / "order_api" / "__main__.py").exists():
    APIS.append(pytest.param("order_api", id="order-api"))


@pytest.mark.parametrize("package", APIS)
async def test_api_matches_its_document_under_fuzzing(empty_db, package, tmp_path):
    await seed(empty_db)
    service = start_service(package, service_env(package))
    try:
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                str(SERVICES / package / "openapi.yaml"),
                "--url",
                service.url,
                "--checks",
                CHECKS,
                "--max-examples",
                "40",
                "--seed",
                "20261127",
                "--workers",
                "1",
                "--phases",
                "examples,coverage,fuzzing",
                "--header",
                f"Authorization: Bearer {ADMIN_TOKEN}",
                "--request-timeout",
                "10",
                "--no-color",
                "--report-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        service.stop()
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "passed" in result.stdout
