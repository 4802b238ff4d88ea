"""Schemathesis hooks for `cargo xtask schema` (see docs/architecture.md, issue 15).

One hook, `filter_failure`, drops exactly two kinds of "schema-valid request rejected"
(ST202, the positive_data_acceptance check) that are rules between values, which JSON
Schema cannot state, and that the API keeps on purpose. Every other failure of every check
fails the run.
"""

import json

import schemathesis


def _errors(response):
    """The fields of a 422 `{"errors": {field: [messages]}}`, or None for any other answer."""
    if response.status_code != 422:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    return errors if isinstance(errors, dict) else None


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if failure.code != "ST202":
        return True
    errors = _errors(response)
    if errors is None:
        return True
    label = case.operation.label
    # GET /api/v1/availability: `from` and `to` are each a valid date, but the range
    # between them must run forwards and span at most 92 days (`to` alone is measured
    # from today). A relation between two parameters, refused under `to` and nothing else.
    if label == "GET /api/v1/availability" and list(errors) == ["to"]:
        messages = " ".join(errors["to"])
        return not ("92 days" in messages or "on or after the first date" in messages)
    # POST /api/v1/bookings: generated requests reuse an Idempotency-Key (deterministic
    # generation repeats simple values) for a different booking, which the API refuses
    # with 422 as the Idempotency-Key draft asks. A relation between two requests.
    if label == "POST /api/v1/bookings" and list(errors) == ["Idempotency-Key"]:
        return "already used for a different booking" not in " ".join(errors["Idempotency-Key"])
    return True
