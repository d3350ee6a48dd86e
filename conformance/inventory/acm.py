"""ACM: the certificates of the region, with their names, status, users and tags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged, tags_of

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec

# ListCertificates leaves out certificates with an EC or a large RSA key unless their key types
# are named: every status and key type is asked for, so a pending or an EC certificate is seen.
STATUSES = [
    "PENDING_VALIDATION",
    "ISSUED",
    "INACTIVE",
    "EXPIRED",
    "VALIDATION_TIMED_OUT",
    "REVOKED",
    "FAILED",
]
KEY_TYPES = [
    "RSA_1024",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "EC_prime256v1",
    "EC_secp384r1",
    "EC_secp521r1",
]


class Certificate(BaseModel):
    arn: str
    domain: str
    names: list[str]  # the domain and every subject alternative name, lower case
    status: str
    type: str  # AMAZON_ISSUED, IMPORTED or PRIVATE
    in_use_by: list[str]  # ARNs of the load balancers (or listeners) serving it
    tags: dict[str, str]


class AcmInventory(Section):
    service = "acm"

    certificates: list[Certificate]

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        return env.load_balancer is not None

    def certificate(self, arn: str) -> Certificate | None:
        return next((c for c in self.certificates if c.arn == arn), None)

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        """The certificates of the project's domain, and those its load balancer serves."""
        domain = inputs.domain.rstrip(".").lower()
        alb = f"/app/{inputs.name('alb')}/"
        return [
            Tagged(resource=f"certificate {c.domain} ({c.arn.rsplit('/', 1)[-1]})", tags=c.tags)
            for c in self.certificates
            if c.domain == domain or any(alb in user for user in c.in_use_by)
        ]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        acm = clients.client("acm")
        arns = [
            summary["CertificateArn"]
            for page in acm.get_paginator("list_certificates").paginate(
                CertificateStatuses=STATUSES, Includes={"keyTypes": KEY_TYPES}
            )
            for summary in page["CertificateSummaryList"]
        ]
        certificates = []
        for arn in arns:
            found = acm.describe_certificate(CertificateArn=arn)["Certificate"]
            tags = acm.list_tags_for_certificate(CertificateArn=arn).get("Tags")
            domain = found.get("DomainName", "").lower()
            names = [domain, *(n.lower() for n in found.get("SubjectAlternativeNames", []))]
            certificates.append(
                Certificate(
                    arn=arn,
                    domain=domain,
                    names=sorted(set(names)),
                    status=found.get("Status", ""),
                    type=found.get("Type", ""),
                    in_use_by=found.get("InUseBy", []),
                    tags=tags_of(tags),
                )
            )
        return cls(certificates=certificates)
