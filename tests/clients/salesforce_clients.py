#!/usr/bin/env python3
"""Drive the Salesforce Python client (PyPI `simple-salesforce`) through crmgate, unchanged:
query, query_all (every page), query_deleted (queryAll), get, describe, create, update,
upsert by external id, delete, and one refused call.

Usage:
    python3 tests/clients/salesforce_clients.py [BASE_URL]

    BASE_URL              or env CRMGATE_BASE_URL: https://host:port[/path], e.g.
                          https://localhost:8443/purpose/prospect_management
    CRMGATE_TOKEN         the session id the client sends as its bearer token
                          (through crmgate a demo API key such as demo-key-holly)
    CRMGATE_CA            optional CA file (PEM) for https, e.g. certs/ca.pem
    CRMGATE_API_VERSION   the API version (default 62.0)
    CRMGATE_SF_QUERY      the SOQL of the `query` step
    CRMGATE_SF_QUERY_ALL  the SOQL of the `query_all` and `query_deleted` steps
    CRMGATE_SF_GET        the Contact id the `get` step reads (default 003Dm0000001001)
    CRMGATE_SF_REFUSED    the SOQL of the `refused` step (a query crmgate refuses)
    CRMGATE_SF_SKIP_WRITES  "1": run only the reads

simple-salesforce always speaks https and keeps only the host and port of an
`instance_url`; its `instance` argument is used verbatim as `host[:port][/path]`, so the
base URL's path (crmgate's purpose prefix) is given there: the client is not changed.

Each step prints one JSON line on stdout:
    {"step": ..., "status": <HTTP status or null>, ...what the step returned...}
and, when the client raised, "exception": <its class name>, "status" the exception's
HTTP status and "error": the response body (parsed). Exits 0 when every step ran
(whatever the outcomes), 2 on a usage error.
"""

import json
import os
import sys
import time
from urllib.parse import urlparse

from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

WISH = (
    "A sledge for the whole family and a book about reindeer. Our daughter has diabetes, "
    "so no sweets please. Pay from DE89 3704 0044 0532 0130 00."
)
QUERY = (
    "SELECT Id, FirstName, LastName, Email, Phone, Birthdate, MailingCity, Lifecycle__c, "
    "Account.Name FROM Contact ORDER BY LastName LIMIT 20"
)
QUERY_ALL = "SELECT Id, LastName FROM Contact"
REFUSED = "SELECT Id FROM Contact WHERE Billing_IBAN__c != null"


def emit(step, status, **fields):
    line = {"step": step, "status": status}
    line.update(fields)
    print(json.dumps(line, sort_keys=True, default=str), flush=True)


def plain(value):
    """OrderedDicts and lists as plain JSON values."""
    return json.loads(json.dumps(value, default=str))


def run(step, call, shape):
    """Runs one client call; prints its line; returns the result or None."""
    try:
        result = call()
    except SalesforceError as exc:
        emit(step, exc.status, exception=type(exc).__name__, error=plain(exc.content))
        return None
    except Exception as exc:  # connection refused, TLS: no HTTP status
        emit(step, None, exception=type(exc).__name__, error=str(exc))
        return None
    status, fields = shape(result)
    emit(step, status, **fields)
    return result


def records_line(result):
    records = plain(result.get("records") or [])
    return 200, {
        "totalSize": result.get("totalSize"),
        "done": result.get("done"),
        "ids": [r.get("Id") for r in records],
        "records": records,
    }


def main():
    base = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CRMGATE_BASE_URL", "")).rstrip("/")
    parsed = urlparse(base)
    if parsed.scheme != "https" or not parsed.netloc:
        print(__doc__, file=sys.stderr)
        return 2
    ca = os.environ.get("CRMGATE_CA")
    if ca:
        os.environ["REQUESTS_CA_BUNDLE"] = ca
    sf = Salesforce(
        instance=parsed.netloc + parsed.path,
        session_id=os.environ.get("CRMGATE_TOKEN", "demo-token"),
        version=os.environ.get("CRMGATE_API_VERSION", "62.0"),
    )

    run("query", lambda: sf.query(os.environ.get("CRMGATE_SF_QUERY", QUERY)), records_line)
    query_all = os.environ.get("CRMGATE_SF_QUERY_ALL", QUERY_ALL)
    run("query_all", lambda: sf.query_all(query_all), records_line)
    run("query_deleted", lambda: sf.query_all(query_all, include_deleted=True), records_line)
    get_id = os.environ.get("CRMGATE_SF_GET", "003Dm0000001001")
    run("get", lambda: sf.Contact.get(get_id), lambda r: (200, {"id": r.get("Id"), "record": plain(r)}))
    run(
        "describe",
        lambda: sf.Contact.describe(),
        lambda r: (200, {"fields": [f["name"] for f in r.get("fields") or []]}),
    )

    if os.environ.get("CRMGATE_SF_SKIP_WRITES") != "1":
        writes_of(sf)

    refused = os.environ.get("CRMGATE_SF_REFUSED", REFUSED)
    run("refused", lambda: sf.query(refused), records_line)
    return 0


def writes_of(sf):
    stamp = f"{int(time.time() * 1000)}-{os.getpid()}"
    created = run(
        "create",
        lambda: sf.Contact.create(
            {
                "FirstName": "Tiny",
                "LastName": "Tim",
                "Email": f"py-{stamp}@wishlist.example",
                "Lifecycle__c": "subscriber",
                "Wish_Text__c": WISH,
            }
        ),
        lambda r: (201, {"id": r.get("id"), "result": plain(r)}),
    )
    contact_id = (created or {}).get("id")
    if contact_id:
        run(
            "update",
            lambda: sf.Contact.update(contact_id, {"LastName": "Cratchit", "MailingCity": "London"}),
            lambda status: (status, {"id": contact_id}),
        )
        run(
            "read_back",
            lambda: sf.Contact.get(contact_id),
            lambda r: (200, {"id": r.get("Id"), "record": plain(r)}),
        )
    else:
        for step in ("update", "read_back"):
            emit(step, None, error="skipped: create failed")
    external = f"C-PY-{stamp}"
    run(
        "upsert",
        lambda: sf.Contact.upsert(
            f"External_Id__c/{external}",
            {"LastName": "Fezziwig", "FirstName": "Old", "Lifecycle__c": "subscriber"},
        ),
        lambda status: (status, {"externalId": external}),
    )
    run(
        "upsert_again",
        lambda: sf.Contact.upsert(f"External_Id__c/{external}", {"Title": "Master of the warehouse"}),
        lambda status: (status, {"externalId": external}),
    )
    if contact_id:
        run("delete", lambda: sf.Contact.delete(contact_id), lambda status: (status, {"id": contact_id}))
        run("get_deleted", lambda: sf.Contact.get(contact_id), lambda r: (200, {"record": plain(r)}))
    else:
        for step in ("delete", "get_deleted"):
            emit(step, None, error="skipped: create failed")


if __name__ == "__main__":
    sys.exit(main())
