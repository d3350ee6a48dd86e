"""A moto server whose request authorizer names actions as AWS IAM does.

moto 5.2 enforces IAM policies on requests (after ``/moto-api/reset-auth``), but its authorizer
departs from AWS in four places that a least-privilege policy meets at once; each is corrected
here, before the server starts, so the committed policy (written with AWS's names, from the
Service Authorization Reference) is tested verbatim:

- CloudWatch requests are signed for ``monitoring``; moto checks ``monitoring:*`` where AWS
  checks ``cloudwatch:*``.
- S3 bucket sub-resources: moto checks GetBucketEncryption and GetPublicAccessBlock as
  ``s3:ListBucket``; AWS checks ``s3:GetEncryptionConfiguration`` and
  ``s3:GetBucketPublicAccessBlock``.
- Route 53 GETs have no body, but moto hashes its header dict as the payload, so every Route 53
  request fails its signature check (SignatureDoesNotMatch).
- sts:AssumeRoleWithWebIdentity is unsigned in AWS (the web identity token is the credential);
  moto fails it with a 500 for want of an Authorization header.

    python -m tests.moto_iam_server -H 127.0.0.1 -p PORT
"""

from __future__ import annotations

from typing import Any

from moto.core.authorization import ActionAuthenticatorMixin
from moto.iam import access_control
from moto.s3 import responses as s3_responses
from moto.server import main

SIGNING_NAME_TO_IAM_PREFIX = {"monitoring": "cloudwatch"}
S3_BUCKET_GETS = {
    "encryption": "GetEncryptionConfiguration",
    "publicAccessBlock": "GetBucketPublicAccessBlock",
    "replication": "GetReplicationConfiguration",
    "ownershipControls": "GetBucketOwnershipControls",
    "policyStatus": "GetBucketPolicyStatus",
}


def correct_moto() -> None:
    s3_responses.ACTION_MAP["BUCKET"]["GET"].update(S3_BUCKET_GETS)
    original_init = access_control.IAMRequestBase.__init__
    original_request = access_control.IAMRequest._create_aws_request

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        prefix, _, action = self._action.partition(":")
        self._action = f"{SIGNING_NAME_TO_IAM_PREFIX.get(prefix, prefix)}:{action}"

    def create_aws_request(self: Any) -> Any:
        if not self._body and self._method in ("GET", "HEAD"):
            self._body, self._data = b"", b""
        return original_request(self)

    original_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def authorize(self: Any, *args: Any, **kwargs: Any) -> None:
        if self._get_action() != "AssumeRoleWithWebIdentity":
            original_authorize(self, *args, **kwargs)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = authorize  # type: ignore[method-assign]
    access_control.IAMRequestBase.__init__ = init  # type: ignore[method-assign]
    access_control.IAMRequest._create_aws_request = create_aws_request  # type: ignore[method-assign]


if __name__ == "__main__":
    correct_moto()
    main()
