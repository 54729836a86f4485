"""Each API's OpenAPI document against the running service (real process, real HTTP, real
PostgreSQL): schemathesis generates valid and invalid requests from the document, in every phase
(examples, coverage, fuzzing, stateful) with a fixed seed, and runs every check. Both directions
count: a schema-valid request the server refuses (positive_data_acceptance) and a request the
document forbids that the server accepts (negative_data_rejection) are failures, as is any 5xx,
which from input alone would fire the error-ratio alert and burn the SLO."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.hostile import KeptLog
from product_api.seed import seed
from support.fixtures import ADMIN_TOKEN, SERVICE_TOKEN, service_env
from support.procs import start_service

HERE = Path(__file__).resolve().parent
SERVICES = HERE.parents[1] / "services"
PHASES = "examples,coverage,fuzzing,stateful"
MAX_EXAMPLES = "150"
SEED = "20261127"

APIS = [pytest.param("product_api", id="product-api")]
if (SERVICES / "order_api" / "__main__.py").exists():
    APIS.append(pytest.param("order_api", id="order-api"))


@pytest.mark.parametrize("package", APIS)
async def test_api_and_its_document_agree_under_fuzzing_and_no_input_fires_the_error_ratio_alert(
    empty_db, package, tmp_path
):
    await seed(empty_db)
    # One header for every operation: order-api's service credential is the admin token here,
    # so the fuzzer reaches the order reads (serviceToken) and the status change (adminToken).
    service = start_service(package, service_env(package, ORDER_API_SERVICE_TOKEN=ADMIN_TOKEN))
    kept = KeptLog(service)
    try:
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "--config-file",
                str(HERE / "schemathesis.toml"),
                "run",
                str(SERVICES / package / "openapi.yaml"),
                "--url",
                service.url,
                "--checks",
                "all",
                "--phases",
                PHASES,
                "--max-examples",
                MAX_EXAMPLES,
                "--seed",
                SEED,
                "--generation-database",
                "none",
                "--continue-on-failure",
                "--workers",
                "1",
                "--request-timeout",
                "10",
                "--no-color",
                "--report-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
            env={
                **os.environ,
                "PYTHONPATH": str(HERE),
                "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
                "ADMIN_TOKEN": ADMIN_TOKEN,
                "ORDER_API_SERVICE_TOKEN": SERVICE_TOKEN,
            },
        )
    finally:
        log = kept.stop()
    print(result.stdout[-3000:])  # the summary: phases, operations, test cases, checks
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-2000:]
    assert "passed" in result.stdout
    assert "Traceback" not in log, log[-4000:]
