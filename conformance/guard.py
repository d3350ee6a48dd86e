"""The read-only guard: refuses, before it is sent, any AWS operation that is not a read.

Reads are operations named Describe*, List*, Get*, Head* or in ``EXTRA_READS``. Some operations
look like reads but return secret material or credentials; they are refused by name.
"""

from __future__ import annotations

from typing import Any

from conformance.errors import ConformanceError

READ_PREFIXES = ("Describe", "List", "Get", "Head")
EXTRA_READS = frozenset(
    {"LookupEvents", "SearchResources", "BatchGetRepositoryScanningConfiguration"}
)
# (service, operation) pairs that read secret material, object contents or credentials.
REFUSED_READS = frozenset(
    {
        ("secretsmanager", "GetSecretValue"),
        ("secretsmanager", "BatchGetSecretValue"),
        ("secretsmanager", "GetRandomPassword"),
        ("s3", "GetObject"),
        ("s3", "GetObjectTorrent"),
        ("ecr", "GetAuthorizationToken"),
        ("ecr", "GetDownloadUrlForLayer"),
        ("ec2", "GetPasswordData"),
        ("sts", "GetSessionToken"),
        ("sts", "GetFederationToken"),
        ("rds", "GetRdsAuthToken"),
        ("kms", "GetParametersForImport"),
        # Data, not configuration: table items, stream records, log lines, console output.
        ("dynamodb", "GetItem"),
        ("kinesis", "GetRecords"),
        ("logs", "GetLogEvents"),
        ("logs", "GetLogRecord"),
        ("ec2", "GetConsoleOutput"),
        ("ec2", "GetConsoleScreenshot"),
    }
)
DECRYPTING_SSM_READS = frozenset(
    {"GetParameter", "GetParameters", "GetParametersByPath", "GetParameterHistory"}
)


class MutationRefused(ConformanceError):
    """A non-read operation was attempted; it was stopped before leaving the process."""


def refusal(service: str, operation: str, params: dict[str, Any]) -> str | None:
    """Why ``service:operation`` may not be sent, or None when it is an allowed read."""
    if (service, operation) in REFUSED_READS:
        return f"{service}:{operation} reads secret material or content; the suite never calls it"
    if service == "ssm" and operation in DECRYPTING_SSM_READS and params.get("WithDecryption"):
        return f"ssm:{operation} with WithDecryption returns secret values; the suite never asks"
    if operation.startswith(READ_PREFIXES) or operation in EXTRA_READS:
        return None
    return f"{service}:{operation} is not a read operation; the suite is read-only"


def enforce(service: str, operation: str, params: dict[str, Any]) -> None:
    reason = refusal(service, operation, params)
    if reason is not None:
        raise MutationRefused(f"refused before sending: {reason}")
