"""CloudFormation custom resource ``Custom::OpenSearchRoleMapping``: creates an OpenSearch security role and maps IAM
role ARNs to it (backend roles), through the security plugin's REST API on the domain.

It runs as the domain's master user: its Lambda execution role is the domain's ``master_user_arn``, and it signs
each request with SigV4 (service ``es``) using that role's credentials. Nothing else holds the master user.

Properties: ``Endpoint`` (https://<domain endpoint>), ``RoleName``, ``Role`` (JSON body of the role),
``BackendRoles`` (IAM role ARNs). Create/Update PUT the role, then its mapping (replacing what was there); Delete
removes both (best effort: the domain may already be gone). Uses only the standard library and the botocore that
Lambda's Python runtime ships.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.session import Session

SECURITY_API = "/_plugins/_security/api"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
DEADLINE_S = 240.0  # keep retrying a domain that is still starting (Lambda timeout: 5 min)


def handler(event: dict[str, Any], context: Any) -> None:
    props = event["ResourceProperties"]
    physical_id = event.get("PhysicalResourceId") or f"{props['Endpoint']}/{props['RoleName']}"
    try:
        name = props["RoleName"]
        if event["RequestType"] in ("Create", "Update"):
            request("PUT", props["Endpoint"], f"{SECURITY_API}/roles/{name}", json.loads(props["Role"]))
            mapping = {"backend_roles": list(props["BackendRoles"]), "users": [], "hosts": []}
            request("PUT", props["Endpoint"], f"{SECURITY_API}/rolesmapping/{name}", mapping)
        else:
            for path in (f"rolesmapping/{name}", f"roles/{name}"):
                try:
                    request("DELETE", props["Endpoint"], f"{SECURITY_API}/{path}", None, deadline_s=30.0)
                except Exception as exc:  # best effort on delete: never block a stack deletion
                    print(f"delete {path}: {exc}")
        respond(event, context, "SUCCESS", physical_id, "")
    except Exception as exc:
        print(f"{event['RequestType']} failed: {exc}")
        respond(event, context, "FAILED", physical_id, str(exc)[:500])


def request(
    method: str, endpoint: str, path: str, body: dict[str, Any] | None, *, deadline_s: float = DEADLINE_S
) -> dict[str, Any]:
    """One SigV4-signed call to the domain, retried while the domain answers 429/5xx or cannot be reached."""
    data = json.dumps(body).encode() if body is not None else None
    started = time.monotonic()
    delay = 2.0
    while True:
        headers = {"Content-Type": "application/json"} if data is not None else {}
        headers["X-Amz-Content-SHA256"] = hashlib.sha256(data or b"").hexdigest()  # signed, as opensearch-py does
        signed = sign(method, endpoint.rstrip("/") + path, data, headers)
        try:
            with urllib.request.urlopen(
                urllib.request.Request(endpoint.rstrip("/") + path, data=data, method=method, headers=signed),
                timeout=30,
            ) as response:
                answer: dict[str, Any] = json.loads(response.read() or b"{}")
                return answer
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")[:300]
            if exc.code not in RETRY_STATUS or time.monotonic() - started > deadline_s:
                raise RuntimeError(f"{method} {path}: HTTP {exc.code}: {text}") from None
        except urllib.error.URLError as exc:
            if time.monotonic() - started > deadline_s:
                raise RuntimeError(f"{method} {path}: {exc.reason}") from None
        time.sleep(delay)
        delay = min(delay * 2, 20.0)


def sign(method: str, url: str, data: bytes | None, headers: dict[str, str]) -> dict[str, str]:
    credentials = Session().get_credentials()
    if credentials is None:
        raise RuntimeError("no AWS credentials")
    aws_request = AWSRequest(method=method, url=url, data=data, headers=headers)
    region = os.environ.get("AWS_REGION") or os.environ["AWS_DEFAULT_REGION"]
    SigV4Auth(credentials.get_frozen_credentials(), "es", region).add_auth(aws_request)
    return dict(aws_request.headers.items())


def respond(event: dict[str, Any], context: Any, status: str, physical_id: str, reason: str) -> None:
    """The custom resource's answer, PUT to CloudFormation's presigned response URL."""
    log_stream = getattr(context, "log_stream_name", "")
    body = {
        "Status": status,
        "Reason": reason or f"see CloudWatch log stream {log_stream}",
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": {},
    }
    payload = json.dumps(body).encode()
    put = urllib.request.Request(
        event["ResponseURL"],
        data=payload,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(payload))},
    )
    with urllib.request.urlopen(put, timeout=30):
        pass
