"""The read-only guard: exactly the allow-listed reads leave the process, nothing else, ever.

Refusals are proven against a real listening socket that must receive nothing; each call is also
made once without the guard, to show it would have reached that socket. Writable clients exist
only in the provisioner and reach only loopback or in-process moto; the embedded target sends
nothing over the network whatever ``AWS_ENDPOINT_URL*`` or a profile say.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError
from botocore.model import Shape
from moto import mock_aws

from conformance.aws import Clients, NotIntercepted
from conformance.errors import UsageError
from conformance.guard import READ_OPERATIONS, MutationRefused, refusal
from conformance.inputs import Inputs
from fixtures.provision import NotLocal, WritableLocalClients, provision
from tests.conftest import run_suite

KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
ONE_ATTEMPT = Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=2)
INSTANCE = "i-0123456789abcdef0"

# The reads finding #6 named (secrets, credentials, user data, query results, file contents,
# stream records), the ones the old deny list named, and a sample of writes.
REFUSED = [
    ("lambda", "get_function", {"FunctionName": "accountabilityatlas-app"}),
    ("ec2", "describe_instance_attribute", {"InstanceId": INSTANCE, "Attribute": "userData"}),
    ("ec2", "get_launch_template_data", {"InstanceId": INSTANCE}),
    ("cognito-identity", "get_credentials_for_identity", {"IdentityId": "us-east-1:0000-1111"}),
    ("ecr-public", "get_authorization_token", {}),
    ("codeartifact", "get_authorization_token", {"domain": "accountabilityatlas"}),
    ("redshift", "get_cluster_credentials", {"DbUser": "admin", "ClusterIdentifier": "c1"}),
    ("sso", "get_role_credentials", {"roleName": "r", "accountId": "1" * 12, "accessToken": "t"}),
    ("lightsail", "get_relational_database_master_user_password", {"relationalDatabaseName": "db"}),
    ("glue", "get_connection", {"Name": "warehouse"}),
    ("apigateway", "get_api_keys", {"includeValues": True}),
    ("athena", "get_query_results", {"QueryExecutionId": "q-1"}),
    ("logs", "get_query_results", {"queryId": "q-1"}),
    ("codecommit", "get_file", {"repositoryName": "infra", "filePath": "secrets.tfvars"}),
    ("dynamodbstreams", "get_records", {"ShardIterator": "shard-iterator"}),
    ("secretsmanager", "get_secret_value", {"SecretId": "accountabilityatlas/db-password"}),
    ("s3", "get_object", {"Bucket": "accountabilityatlas-backups", "Key": "dump.sql"}),
    ("ssm", "get_parameter", {"Name": "/db/password", "WithDecryption": True}),
    ("ssm", "get_parameter", {"Name": "/db/password", "WithDecryption": False}),
    ("ec2", "get_password_data", {"InstanceId": INSTANCE}),
    ("logs", "get_log_events", {"logGroupName": "g", "logStreamName": "s"}),
    ("sts", "get_session_token", {}),
    (
        "sts",
        "assume_role",
        {"RoleArn": "arn:aws:iam::111111111111:role/x", "RoleSessionName": "ss"},
    ),
    ("ec2", "create_vpc", {"CidrBlock": "10.9.0.0/16"}),
    ("ec2", "delete_security_group", {"GroupId": "sg-0123456789abcdef0"}),
    ("rds", "delete_db_instance", {"DBInstanceIdentifier": "db", "SkipFinalSnapshot": True}),
    ("s3", "put_bucket_policy", {"Bucket": "accountabilityatlas-backups", "Policy": "{}"}),
    ("iam", "create_access_key", {"UserName": "admin"}),
    ("sqs", "purge_queue", {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/1/q"}),
    ("dynamodb", "delete_table", {"TableName": "terraform-locks"}),
]


class Listener:
    """A TCP socket on loopback that counts connections and bytes, answering nothing."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.connections = 0
        self.received = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.socket.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            with connection:
                self.connections += 1
                connection.settimeout(1)
                with contextlib.suppress(OSError):
                    self.received += len(connection.recv(65536))

    def close(self) -> None:
        self.socket.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.socket.close()
        self._thread.join(timeout=5)


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    try:
        yield found
    finally:
        found.close()


@pytest.mark.parametrize(("service", "method", "params"), REFUSED)
def test_a_refused_operation_never_leaves_the_process(
    listener: Listener, service: str, method: str, params: dict[str, Any]
) -> None:
    clients = Clients("us-east-1", listener.url, session=boto3.Session(**KEYS), config=ONE_ATTEMPT)
    with pytest.raises(MutationRefused, match=r"refused before sending: \S+ is not one of the"):
        getattr(clients.client(service), method)(**params)
    assert (listener.connections, listener.received) == (0, 0)
    assert [c.operation for c in clients.log.refused] and not clients.log.calls
    # The same call without the guard does reach the socket: the parameters are sendable.
    unguarded = boto3.Session(**KEYS).client(
        service, region_name="us-east-1", endpoint_url=listener.url, config=ONE_ATTEMPT
    )
    with pytest.raises(BotoCoreError):
        getattr(unguarded, method)(**params)
    assert listener.received > 0


def test_an_rds_auth_token_is_never_signed() -> None:
    """``generate_db_auth_token`` signs locally, with no API call: the guard refuses it too."""
    rds = Clients("us-east-1", "http://127.0.0.1:9", session=boto3.Session(**KEYS)).client("rds")
    with pytest.raises(MutationRefused, match="rds:connect"):
        rds.generate_db_auth_token("db.internal", 5432, "app")


def test_a_presigned_url_for_a_refused_operation_is_refused() -> None:
    s3 = Clients("us-east-1", "http://127.0.0.1:9", session=boto3.Session(**KEYS)).client("s3")
    with pytest.raises(MutationRefused, match="s3:GetObject"):
        s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})


def test_the_guard_cannot_be_switched_off_after_the_clients_are_built() -> None:
    with mock_aws():
        clients = Clients("us-east-1", session=boto3.Session(**KEYS), in_process=True)
        ec2 = clients.client("ec2")
        before = ec2.describe_vpcs()["Vpcs"]
        clients.read_only = False  # type: ignore[attr-defined]  # what the old flag allowed
        with pytest.raises(MutationRefused, match="ec2:CreateVpc"):
            ec2.create_vpc(CidrBlock="10.9.0.0/16")
        with pytest.raises(MutationRefused, match="ec2:CreateVpc"):
            clients.client("ec2", "eu-west-1").create_vpc(CidrBlock="10.9.0.0/16")
        assert ec2.describe_vpcs()["Vpcs"] == before


def test_secret_values_are_never_read_even_where_the_secret_exists() -> None:
    with mock_aws():
        writer = boto3.Session(**KEYS).client("secretsmanager", region_name="us-east-1")
        writer.create_secret(Name="accountabilityatlas/db-password", SecretString="s3cr3t-value")
        reader = Clients("us-east-1", session=boto3.Session(**KEYS), in_process=True)
        secrets = reader.client("secretsmanager")
        assert [s["Name"] for s in secrets.list_secrets()["SecretList"]] == [
            "accountabilityatlas/db-password"
        ]
        with pytest.raises(MutationRefused, match="secretsmanager:GetSecretValue"):
            secrets.get_secret_value(SecretId="accountabilityatlas/db-password")


# Output members botocore marks sensitive in an allowed read, and why reading them is harmless.
REVIEWED_SENSITIVE = {
    ("rds", "DescribeDBInstances"): {
        "DBInstances[].PendingModifiedValues.MasterUserPassword"  # AWS returns "****"
    },
    ("ecs", "DescribeTaskDefinition"): {
        # Recorded only under names that do not look secret, and scrubbed (inventory/ecs.py).
        "taskDefinition.containerDefinitions[].environment",
        # The ARN of the registry credentials' secret: never recorded.
        "taskDefinition.containerDefinitions[].repositoryCredentials",
    },
    ("cloudfront", "ListDistributions"): {
        # An origin's custom header values may be shared secrets: never recorded
        # (inventory/cloudfront.py keeps origins' ids and domains only); comments are not kept.
        "DistributionList.Items[].Origins.Items[].CustomHeaders.Items[].HeaderValue",
        "DistributionList.Items[].Comment",
    },
    ("cloudfront", "GetDistribution"): {
        "Distribution.DistributionConfig.Origins.Items[].CustomHeaders.Items[].HeaderValue",
        "Distribution.DistributionConfig.Comment",
        "Distribution.DistributionConfig.TenantConfig.ParameterDefinitions[].Definition"
        ".StringSchema.Comment",
    },
    ("s3", "GetBucketEncryption"): {
        # The KMS key's id or ARN, which the check compares; not key material.
        "ServerSideEncryptionConfiguration.Rules[].ApplyServerSideEncryptionByDefault"
        ".KMSMasterKeyID"
    },
}
# BatchGet*: CodeBuild and CodeDeploy read a project or a deployment group only in batches.
READ_PREFIXES = ("Describe", "List", "Get", "Head", "BatchGet")
# REST reads AWS defines as POST (X-Ray's API is POST throughout; DescribeDomains posts the
# names it describes); reads all the same.
POST_READS = {("xray", "GetSamplingRules"), ("opensearch", "DescribeDomains")}


def _sensitive(shape: Shape | None, path: str = "", seen: frozenset[str] = frozenset()) -> set[str]:
    """Paths of the members of ``shape`` botocore marks sensitive."""
    if shape is None or shape.name in seen:
        return set()
    seen |= {shape.name}
    found = {path.lstrip(".")} if shape.metadata.get("sensitive") else set()
    members: dict[str, Any] = getattr(shape, "members", {})
    for name, member in members.items():
        found |= _sensitive(member, f"{path}.{name}", seen)
    if hasattr(shape, "member"):
        found |= _sensitive(shape.member, f"{path}[]", seen)
    if hasattr(shape, "value"):
        found |= _sensitive(shape.value, f"{path}{{}}", seen)
    return found


@pytest.mark.parametrize(("service", "operation"), sorted(READ_OPERATIONS))
def test_every_allowed_operation_is_a_read_that_returns_no_secret(
    service: str, operation: str
) -> None:
    model = botocore.session.get_session().get_service_model(service)
    assert operation in model.operation_names, f"{service}:{operation} does not exist"
    read = model.operation_model(operation)
    assert operation.startswith(READ_PREFIXES), operation
    if model.protocol in ("rest-xml", "rest-json") and (service, operation) not in POST_READS:
        assert read.http["method"] in ("GET", "HEAD"), read.http
    sensitive = _sensitive(read.output_shape)
    assert sensitive == REVIEWED_SENSITIVE.get((service, operation), set())


def test_nothing_else_is_allowed() -> None:
    assert refusal("ec2", "DescribeVpcs") is None
    assert refusal("ec2", "DescribeVolumes") is not None  # a read, but no collector makes it
    assert refusal("rds", "GetRdsAuthToken") is not None  # no such operation exists
    assert refusal("ssm", "GetParameter") is not None


def test_the_embedded_target_sends_nothing_whatever_the_endpoint_settings_say(
    listener: Listener, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.write_text(f"[default]\nendpoint_url = {listener.url}\nregion = us-east-1\n")
    done = run_suite(
        "-q",
        env={
            "AWS_ENDPOINT_URL": listener.url,
            "AWS_ENDPOINT_URL_EC2": listener.url,
            "AWS_ENDPOINT_URL_S3": listener.url,
            "AWS_CONFIG_FILE": str(config),
            "AWS_USE_DUALSTACK_ENDPOINT": "true",
        },
    )
    assert done.returncode == 0, done.stdout[-4000:]
    assert "verdict: conformant" in done.stdout
    assert (listener.connections, listener.received) == (0, 0)


def test_in_process_clients_outside_a_mock_send_nothing(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", listener.url)
    clients = Clients("us-east-1", session=boto3.Session(**KEYS), in_process=True)
    with pytest.raises(NotIntercepted, match="in-process moto did not answer"):
        clients.client("ec2").describe_vpcs()
    assert listener.connections == 0


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://ec2.us-east-1.amazonaws.com",
        "http://10.0.0.5:4566",
        "http://192.168.1.10:5000",
        "http://localhost.localstack.cloud:4566",
        "http://127.0.0.1.nip.io:5000",
        "http://[2001:db8::1]:5000",
    ],
)
def test_the_writable_factory_refuses_anything_but_loopback(endpoint: str) -> None:
    with pytest.raises(NotLocal, match="refusing to provision into"):
        WritableLocalClients("us-east-1", endpoint)


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9", "http://[::1]:9", "http://localhost:9"])
def test_the_writable_factory_builds_clients_for_loopback(endpoint: str) -> None:
    assert WritableLocalClients("us-east-1", endpoint).client("ec2").meta.endpoint_url == endpoint


def test_the_writable_factory_needs_an_active_mock_for_in_process() -> None:
    with pytest.raises(UsageError, match="needs an active moto mock"):
        WritableLocalClients("us-east-1", None)


def test_in_process_provisioning_ignores_every_configured_endpoint(
    listener: Listener, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.write_text(f"[default]\nendpoint_url = {listener.url}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_ENDPOINT_URL", listener.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_RDS", listener.url)
    with mock_aws():
        built = provision(1, "us-east-1", None, Inputs())
        assert built.ids
        reader = Clients("us-east-1", session=boto3.Session(**KEYS), in_process=True)
        assert reader.client("rds").describe_db_instances()["DBInstances"]
    assert (listener.connections, listener.received) == (0, 0)
