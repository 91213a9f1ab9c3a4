"""OpenSearch access on AWS: the functions sign with their own IAM roles and are mapped to the adapter's
least-privilege role; the master user is an IAM role only the role-mapping handler runs as; a fresh account gets
the service-linked role a VPC domain needs (chirp_cdk.search_access)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk.assertions import Match, Template
from chirp_cdk.search_access import (
    ADMIN_HTTP_ACTIONS,
    FUNCTION_HTTP_ACTIONS,
    HANDLER_DIR,
    SEARCH_INDEX_PREFIX,
    SearchAccess,
    SearchSecurityAdmin,
)

from chirp import wiring
from chirp.search_role import INDEXER_ROLE, indexer_role

from .support import Synthesized, resources_of


def _logical_id(template: dict[str, Any], kind: str, fragment: str) -> str:
    (found,) = [k for k in resources_of(template, kind) if fragment in k]
    return found


def _search_functions(synth: Synthesized) -> dict[str, dict[str, Any]]:
    users = {spec.name for spec in wiring.FUNCTIONS if "search" in spec.uses}
    found: dict[str, dict[str, Any]] = {}
    for stack in synth.assembly.stacks:
        for resource in resources_of(stack.template, "AWS::Lambda::Function").values():
            env = resource["Properties"].get("Environment", {}).get("Variables", {})
            if env.get("CHIRP_FUNCTION") in users:
                found[env["CHIRP_FUNCTION"]] = resource
    assert set(found) == users
    return found


# -- the data stack (full app) ---------------------------------------------------------------------------------------


def test_functions_sign_with_their_role_and_hold_no_search_secret(aws: Synthesized) -> None:
    """Given the functions that use search
    When synthesized
    Then they get the domain URL, SigV4 and the index prefix the role covers, and no OpenSearch secret at all."""
    for name, function in _search_functions(aws).items():
        env = function["Properties"]["Environment"]["Variables"]
        assert env["CHIRP_OPENSEARCH_AUTH"] == "sigv4", name
        assert env["CHIRP_OPENSEARCH_INDEX_PREFIX"] == SEARCH_INDEX_PREFIX, name
        # a replica of every shard on the other data node: one node lost loses nothing
        assert (env["CHIRP_OPENSEARCH_SHARDS"], env["CHIRP_OPENSEARCH_REPLICAS"]) == ("2", "1"), name
        assert "Fn::Join" in env["CHIRP_OPENSEARCH_URL"] and "https://" in json.dumps(env["CHIRP_OPENSEARCH_URL"])
        assert "CHIRP_OPENSEARCH_CREDENTIALS_SECRET_ARN" not in env, name
    data = aws.raw("Data")
    for secret in resources_of(data, "AWS::SecretsManager::Secret").values():
        assert "OpenSearch" not in secret["Properties"].get("Description", "")


def test_functions_iam_policy_is_the_http_calls_the_adapter_makes(aws: Synthesized) -> None:
    """Given the managed policy the search functions get
    When synthesized
    Then it allows GET/HEAD/POST/PUT on the domain's paths only (the adapter never deletes an index)."""
    data = aws.raw("Data")
    policy = data["Resources"][_logical_id(data, "AWS::IAM::ManagedPolicy", "SearchAccess")]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == sorted(FUNCTION_HTTP_ACTIONS)
    assert "es:ESHttpDelete" not in statement["Action"]
    domain = _logical_id(data, "AWS::OpenSearchService::Domain", "Search")
    assert statement["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [domain, "Arn"]}, "/*"]]}


def test_the_master_user_is_a_role_only_the_role_mapping_handler_runs_as(aws: Synthesized) -> None:
    """Given fine-grained access control
    When synthesized
    Then the master user is the SearchSecurityAdmin role: trusted by Lambda only, the role of exactly one function
    (the role-mapping handler, in the VPC), and allowed only the security API's HTTP verbs on the domain."""
    data = aws.raw("Data")
    domain = data["Resources"][_logical_id(data, "AWS::OpenSearchService::Domain", "Search")]
    master_arn = domain["Properties"]["AdvancedSecurityOptions"]["MasterUserOptions"]["MasterUserARN"]
    master = master_arn["Fn::GetAtt"][0]
    assert "SearchSecurityAdmin" in master
    trust = data["Resources"][master]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]
    users = [
        (stack.stack_name, fn)
        for stack in aws.assembly.stacks
        for fn in resources_of(stack.template, "AWS::Lambda::Function").values()
        if fn["Properties"]["Role"] == master_arn
    ]
    assert len(users) == 1 and users[0][0] == aws.stacks.settings.stack_name("Data")
    handler = users[0][1]["Properties"]
    assert handler["Handler"] == "index.handler" and handler["VpcConfig"]["SubnetIds"]
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources_of(data, "AWS::IAM::Policy").values()
        if {"Ref": master} in p["Properties"]["Roles"]
    ]
    es_actions = {a for statements in policies for s in statements for a in _list(s["Action"]) if a.startswith("es:")}
    assert es_actions == set(ADMIN_HTTP_ACTIONS)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_a_fresh_account_gets_the_service_linked_role_first(aws: Synthesized) -> None:
    """Given a VPC domain needs AWSServiceRoleForAmazonOpenSearchService
    When synthesized
    Then a custom resource creates it (an existing one, InvalidInput, is not an error; it is never deleted) and the
    domain waits for it."""
    data = aws.raw("Data")
    slr = _logical_id(data, "Custom::AWS", "SearchServiceLinkedRole")
    create = json.loads(data["Resources"][slr]["Properties"]["Create"])
    assert (create["service"], create["action"]) == ("IAM", "createServiceLinkedRole")
    assert create["parameters"] == {"AWSServiceName": "opensearchservice.amazonaws.com"}
    assert create["ignoreErrorCodesMatching"] == "InvalidInput"
    assert "Delete" not in data["Resources"][slr]["Properties"]
    domain = data["Resources"][_logical_id(data, "AWS::OpenSearchService::Domain", "Search")]
    assert slr in domain["DependsOn"]
    policy = data["Resources"][_logical_id(data, "AWS::IAM::Policy", "SearchServiceLinkedRoleCustomResourcePolicy")]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "iam:CreateServiceLinkedRole"
    assert statement["Condition"] == {"StringEquals": {"iam:AWSServiceName": "opensearchservice.amazonaws.com"}}


def test_the_domain_has_no_open_access_policy(aws: Synthesized) -> None:
    """Given fine-grained access control
    When synthesized
    Then the data stack sets no access policy (no "*" principal, no unsigned basic auth); SearchAccess writes it."""
    data = aws.raw("Data")
    domain = data["Resources"][_logical_id(data, "AWS::OpenSearchService::Domain", "Search")]
    assert "AccessPolicies" not in domain["Properties"]
    assert "updateDomainConfig" not in json.dumps(data)


# -- SearchAccess (in the stack of the functions) --------------------------------------------------------------------


@pytest.fixture(scope="module")
def access() -> tuple[Template, dict[str, Any], list[str]]:
    app = App()
    data = Stack(app, "Data")
    vpc = ec2.Vpc(data, "Vpc", max_azs=2, nat_gateways=0)
    sg = ec2.SecurityGroup(data, "Sg", vpc=vpc)
    admin = SearchSecurityAdmin(
        data, "Admin", vpc=vpc, subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED), sg=sg
    )
    domain = opensearch.Domain(
        data,
        "Domain",
        version=opensearch.EngineVersion.OPENSEARCH_2_19,
        fine_grained_access_control=opensearch.AdvancedSecurityOptions(master_user_arn=admin.role.role_arn),
        node_to_node_encryption=True,
        encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
        enforce_https=True,
    )
    functions = Stack(app, "Functions")
    roles = [iam.Role(functions, name, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")) for name in ("A", "B")]
    SearchAccess(functions, "SearchAccess", domain=domain, admin=admin, roles=roles)
    role_ids = [functions.resolve(functions.get_logical_id(role.node.default_child)) for role in roles]  # type: ignore[arg-type]
    template = Template.from_stack(functions)
    return template, dict(template.to_json()), role_ids


def test_the_functions_roles_are_mapped_to_the_adapters_role(
    access: tuple[Template, dict[str, Any], list[str]],
) -> None:
    """Given two function roles
    When SearchAccess is synthesized
    Then the role-mapping custom resource (run by the master role's handler) puts the adapter's own indexer_role
    for the deployed prefix and maps exactly those two role ARNs to it, after the access policy is in place."""
    template, raw, role_ids = access
    (mapping_id,) = template.find_resources("Custom::OpenSearchRoleMapping")
    props = raw["Resources"][mapping_id]["Properties"]
    assert props["RoleName"] == INDEXER_ROLE
    assert json.loads(props["Role"]) == indexer_role(SEARCH_INDEX_PREFIX)
    assert [r["Fn::GetAtt"] for r in props["BackendRoles"]] == [[r, "Arn"] for r in role_ids]
    assert "AdminHandler" in json.dumps(props["ServiceToken"])  # the master role's function
    assert "https://" in json.dumps(props["Endpoint"])
    (policy_id,) = [k for k in template.find_resources("Custom::AWS") if "AccessPolicy" in k]
    assert policy_id in raw["Resources"][mapping_id]["DependsOn"]


def test_the_access_policy_names_the_master_role_and_the_functions_roles(
    access: tuple[Template, dict[str, Any], list[str]],
) -> None:
    """Given SearchAccess
    When synthesized
    Then the domain's access policy (OpenSearch updateDomainConfig) allows the master role the security API verbs
    and exactly the functions' roles the adapter's verbs, on the domain's paths; nothing for "*"."""
    template, raw, role_ids = access
    (policy_id,) = [k for k in template.find_resources("Custom::AWS") if "AccessPolicy" in k]
    create = json.dumps(raw["Resources"][policy_id]["Properties"]["Create"])
    parts = raw["Resources"][policy_id]["Properties"]["Create"]["Fn::Join"][1]
    literal = "".join(part for part in parts if isinstance(part, str))
    assert "updateDomainConfig" in literal and '\\"*\\"' not in literal  # no "*" principal
    for role_id in role_ids:
        assert f'"Fn::GetAtt": ["{role_id}", "Arn"]' in create
    for action in ADMIN_HTTP_ACTIONS + FUNCTION_HTTP_ACTIONS:
        assert action in create
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {"PolicyDocument": {"Statement": [Match.object_like({"Action": "es:UpdateDomainConfig"})]}},
    )


# -- the role-mapping handler (search_security/index.py) against a local capture server ------------------------------


def _load_handler() -> Any:
    spec = importlib.util.spec_from_file_location("chirp_search_security_handler", HANDLER_DIR / "index.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Recorder(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    status_for: dict[str, int] = {}

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.received.append({"method": self.command, "path": self.path, "headers": headers, "body": body})
        status = next((code for part, code in self.status_for.items() if part in self.path), 200)
        payload = json.dumps({"status": "OK" if status == 200 else "FORBIDDEN"}).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[str, type[_Recorder]]]:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDMASTERROLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "master-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "master-token")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    handler_class = type("Handler", (_Recorder,), {"received": [], "status_for": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler_class
    finally:
        server.shutdown()
        server.server_close()


def _event(url: str, request_type: str) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": f"{url}/cfn-response?signature=x",
        "StackId": "stack",
        "RequestId": "request",
        "LogicalResourceId": "IndexerRole",
        "ResourceProperties": {
            "Endpoint": url,
            "RoleName": INDEXER_ROLE,
            "Role": json.dumps(indexer_role(SEARCH_INDEX_PREFIX)),
            "BackendRoles": ["arn:aws:iam::123456789012:role/search", "arn:aws:iam::123456789012:role/indexer"],
        },
    }


def test_handler_puts_the_role_then_the_mapping_signed_as_the_master_role(
    recorder: tuple[str, type[_Recorder]],
) -> None:
    url, server = recorder
    _load_handler().handler(_event(url, "Create"), None)
    calls = [(r["method"], r["path"]) for r in server.received]
    assert calls == [
        ("PUT", f"/_plugins/_security/api/roles/{INDEXER_ROLE}"),
        ("PUT", f"/_plugins/_security/api/rolesmapping/{INDEXER_ROLE}"),
        ("PUT", "/cfn-response?signature=x"),
    ]
    role, mapping, response = server.received
    assert json.loads(role["body"]) == indexer_role(SEARCH_INDEX_PREFIX)
    assert json.loads(mapping["body"])["backend_roles"] == _event(url, "Create")["ResourceProperties"]["BackendRoles"]
    for call in (role, mapping):
        auth = call["headers"]["authorization"]
        assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDMASTERROLE/") and "/eu-west-1/es/aws4_request" in auth
        assert call["headers"]["x-amz-security-token"] == "master-token"
        assert call["headers"]["x-amz-content-sha256"] == hashlib.sha256(call["body"]).hexdigest()
    assert "authorization" not in response["headers"]
    answer = json.loads(response["body"])
    assert (answer["Status"], answer["LogicalResourceId"]) == ("SUCCESS", "IndexerRole")


def test_handler_reports_a_refusal_as_failed(recorder: tuple[str, type[_Recorder]]) -> None:
    url, server = recorder
    server.status_for["/rolesmapping/"] = 403
    _load_handler().handler(_event(url, "Update"), None)
    answer = json.loads(server.received[-1]["body"])
    assert answer["Status"] == "FAILED" and "HTTP 403" in answer["Reason"]


def test_handler_delete_removes_mapping_and_role_and_never_blocks(recorder: tuple[str, type[_Recorder]]) -> None:
    url, server = recorder
    server.status_for["/roles/"] = 404  # already gone: still a successful delete
    _load_handler().handler(_event(url, "Delete"), None)
    calls = [(r["method"], r["path"]) for r in server.received]
    assert calls[:2] == [
        ("DELETE", f"/_plugins/_security/api/rolesmapping/{INDEXER_ROLE}"),
        ("DELETE", f"/_plugins/_security/api/roles/{INDEXER_ROLE}"),
    ]
    assert json.loads(server.received[-1]["body"])["Status"] == "SUCCESS"


def test_the_deployed_app_maps_exactly_the_search_users_roles(aws: Synthesized) -> None:
    """Given the whole app (backend=aws)
    When synthesized
    Then the Api stack holds one role mapping, and its backend roles are the roles of exactly the functions whose
    wiring entry uses search (from the wiring table, not a list kept here)."""
    from chirp import wiring

    raw = aws.raw("Api")
    mappings = [r for r in raw["Resources"].values() if r["Type"] == "Custom::OpenSearchRoleMapping"]
    assert len(mappings) == 1
    mapped = {ref["Fn::GetAtt"][0] for ref in mappings[0]["Properties"]["BackendRoles"]}
    users = {spec.name for spec in wiring.FUNCTIONS if "search" in spec.uses}
    by_function = {}
    for resource in raw["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            env = resource["Properties"].get("Environment", {}).get("Variables", {})
            if "CHIRP_FUNCTION" in env:
                by_function[env["CHIRP_FUNCTION"]] = resource["Properties"]["Role"]["Fn::GetAtt"][0]
    assert users == {"search", "indexer", "mastodon"}  # mastodon: the Mastodon surface's v2 search
    assert mapped == {by_function[name] for name in users}
