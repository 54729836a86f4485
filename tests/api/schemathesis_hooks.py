"""Checks of our own for schemathesis (loaded through SCHEMATHESIS_HOOKS by test_openapi_fuzz)."""

import schemathesis


@schemathesis.check
def only_a_reused_idempotency_key_refuses_a_valid_order(ctx, response, case):
    """POST /orders may answer a schema-valid body 422 only for a reused Idempotency-Key (see
    schemathesis.toml); any other 422 is a request the document allows and the server refuses."""
    if case.operation.method.upper() != "POST" or case.operation.path != "/orders":
        return None
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if response.status_code == 422:
        code = response.json()["error"]["code"]
        if code != "idempotency_key_reused":
            raise AssertionError(f"a schema-valid order was refused: 422 {code}")
    return None
