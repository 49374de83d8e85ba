#!/usr/bin/env python3
"""Drive the official HubSpot Python client (PyPI `hubspot-api-client`) through
the write path: create, update, read, search, batch create, archive.

Usage:
    python3 tests/clients/hubspot_writes.py [BASE_URL]

    BASE_URL              or env CRMGATE_BASE_URL; may carry a path prefix, e.g.
                          https://localhost:8443/purpose/prospect_management
    CRMGATE_TOKEN         the bearer token the client sends (default "demo-token")
    CRMGATE_CA            optional CA file (PEM) for https, e.g. certs/ca.pem
    CRMGATE_EMAIL_DOMAIN  optional domain of the e-mail addresses it makes up

Each step prints one JSON line on stdout:
    {"step": ..., "status": <HTTP status>, "id": ..., "properties": {...}}
and, when the API refused the call (ApiException), "error": <the response body>
instead of crashing ("status": null when no HTTP answer came, e.g. connection
refused). The client is built with retry=Retry(total=0), so every call is sent
exactly once. Exits 0 when every step ran (whatever the statuses), 2 on a
usage error.
"""

import json
import os
import sys
import time

from hubspot import HubSpot
from urllib3.util.retry import Retry
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInputForCreate,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)

WISH = (
    "A sledge for the whole family and a book about reindeer. Our daughter has diabetes, "
    "so no sweets please. Pay from DE89 3704 0044 0532 0130 00."
)


def emit(step, status, record=None, error=None, **extra):
    line = {"step": step, "status": status}
    if record is not None:
        line["id"] = record.get("id")
        line["properties"] = record.get("properties") or {}
    if error is not None:
        line["error"] = error
    line.update(extra)
    print(json.dumps(line, sort_keys=True), flush=True)


def as_dict(model):
    return model.to_dict() if hasattr(model, "to_dict") else model


def error_body(exc):
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        return json.loads(body)
    except (TypeError, ValueError):
        return body


def run(step, call):
    """Runs one client call (a *_with_http_info variant returning
    (data, status, headers)); prints its line and returns the data or None."""
    try:
        data, status, _headers = call()
    except ApiException as exc:
        emit(step, exc.status, error=error_body(exc))
        return None
    except Exception as exc:  # connection refused, TLS: no HTTP status
        emit(step, None, error=f"{type(exc).__name__}: {exc}")
        return None
    data = as_dict(data)
    if isinstance(data, dict) and "results" in data:
        results = data.get("results") or []
        first = results[0] if results else {}
        emit(
            step,
            status,
            record=first,
            ids=[r.get("id") for r in results],
            total=data.get("total"),
            numErrors=data.get("num_errors"),
        )
    else:
        emit(step, status, record=data if isinstance(data, dict) else None)
    return data


def main():
    base = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CRMGATE_BASE_URL", "")).rstrip("/")
    if not base:
        print(__doc__, file=sys.stderr)
        return 2
    token = os.environ.get("CRMGATE_TOKEN", "demo-token")
    # retry=Retry(0): urllib3 would otherwise re-try failed connection attempts
    # (never a request already sent); with 0 every call is tried exactly once.
    options = {"access_token": token, "host": base, "retry": Retry(total=0)}
    ca = os.environ.get("CRMGATE_CA")
    if ca:
        options["ssl_ca_cert"] = ca
    client = HubSpot(**options)
    contacts = client.crm.contacts

    domain = os.environ.get("CRMGATE_EMAIL_DOMAIN", "wishlist.example")
    stamp = f"{int(time.time() * 1000)}-{os.getpid()}"
    email = f"py-{stamp}@{domain}"

    created = run(
        "create",
        lambda: contacts.basic_api.create_with_http_info(
            SimplePublicObjectInputForCreate(
                properties={
                    "email": email,
                    "firstname": "Tiny",
                    "lastname": "Tim",
                    "lifecyclestage": "lead",
                    "wish_text": WISH,
                },
                associations=[],
            )
        ),
    )
    contact_id = created.get("id") if created else None

    if contact_id:
        run(
            "update",
            lambda: contacts.basic_api.update_with_http_info(
                contact_id,
                SimplePublicObjectInput(properties={"lastname": "Cratchit", "city": "London"}),
            ),
        )
        run(
            "read",
            lambda: contacts.basic_api.get_by_id_with_http_info(
                contact_id,
                properties=["email", "firstname", "lastname", "city", "wish_text"],
            ),
        )
    else:
        emit("update", None, error="skipped: create failed")
        emit("read", None, error="skipped: create failed")

    run(
        "search",
        lambda: contacts.search_api.do_search_with_http_info(
            PublicObjectSearchRequest(
                filter_groups=[
                    FilterGroup(filters=[Filter(property_name="email", operator="EQ", value=email)])
                ],
                properties=["email", "firstname", "lastname", "city"],
                limit=10,
            )
        ),
    )

    batch = run(
        "batch_create",
        lambda: contacts.batch_api.create_with_http_info(
            BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[
                    SimplePublicObjectBatchInputForCreate(
                        properties={
                            "email": f"py-{stamp}-{n}@{domain}",
                            "firstname": name,
                            "lifecyclestage": "lead",
                        },
                        associations=[],
                    )
                    for n, name in ((1, "Peter"), (2, "Martha"))
                ]
            )
        ),
    )
    batch_ids = [r.get("id") for r in (batch or {}).get("results") or []]
    if batch_ids:
        archived_id = sorted(batch_ids)[0]
        try:
            _data, status, _headers = contacts.basic_api.archive_with_http_info(archived_id)
            print(json.dumps({"step": "archive", "status": status, "id": archived_id, "properties": {}}), flush=True)
        except ApiException as exc:
            emit("archive", exc.status, error=error_body(exc), id=archived_id)
        except Exception as exc:  # connection refused, TLS: no HTTP status
            emit("archive", None, error=f"{type(exc).__name__}: {exc}", id=archived_id)
    else:
        emit("archive", None, error="skipped: batch create failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
