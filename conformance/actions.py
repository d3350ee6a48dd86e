"""The IAM actions that authorize an API operation.

Mostly ``<prefix>:<Operation>``, but some services sign under another prefix than boto3's client
name, and some operations are authorized by an action with another name (S3 most of all). The
least-privilege policy and the "access denied" messages both need the IAM name, so the exceptions
are listed here, explicitly, from the AWS Service Authorization Reference.
"""

from __future__ import annotations

# boto3 client name -> IAM service prefix, where they differ.
PREFIXES = {
    "amp": "aps",  # Amazon Managed Service for Prometheus signs as aps
    "cloudwatch-dashboards": "cloudwatch",  # the dashboards' inventory section, a cloudwatch API
    "cloudwatch-agent-metrics": "cloudwatch",  # inventory sections named apart from their client
    "elasticache-clusters": "elasticache",
    "iam-users": "iam",
    "elbv2": "elasticloadbalancing",
    "elb": "elasticloadbalancing",
    "dynamodbstreams": "dynamodb",
    "opensearch": "es",
    "rds-reserved": "rds",  # the reservations' sections, one per service
    "elasticache-reserved": "elasticache",
    "opensearch-reserved": "es",
    "rds-dr": "rds",  # the DR region's automated backups, an inventory section of its own
    "resourcegroupstaggingapi": "tag",
    "stepfunctions": "states",
}

# (client, operation) -> the IAM actions it needs, where that is not <prefix>:<operation>.
EXCEPTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "ListBuckets"): ("s3:ListAllMyBuckets",),
    ("s3", "HeadBucket"): ("s3:ListBucket",),
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "ListObjectVersions"): ("s3:ListBucketVersions",),
    ("s3", "ListMultipartUploads"): ("s3:ListBucketMultipartUploads",),
    ("s3", "GetBucketEncryption"): ("s3:GetEncryptionConfiguration",),
    ("s3", "GetPublicAccessBlock"): ("s3:GetBucketPublicAccessBlock",),
    ("s3", "GetBucketLifecycleConfiguration"): ("s3:GetLifecycleConfiguration",),
    ("s3", "GetBucketLifecycle"): ("s3:GetLifecycleConfiguration",),
    ("s3", "GetBucketReplication"): ("s3:GetReplicationConfiguration",),
    ("s3", "GetBucketCors"): ("s3:GetBucketCORS",),
    ("s3", "GetBucketNotificationConfiguration"): ("s3:GetBucketNotification",),
    ("s3", "GetObjectLockConfiguration"): ("s3:GetBucketObjectLockConfiguration",),
    ("s3", "GetBucketAccelerateConfiguration"): ("s3:GetAccelerateConfiguration",),
    ("s3", "GetBucketAnalyticsConfiguration"): ("s3:GetAnalyticsConfiguration",),
    ("s3", "GetBucketInventoryConfiguration"): ("s3:GetInventoryConfiguration",),
    ("s3", "GetBucketMetricsConfiguration"): ("s3:GetMetricsConfiguration",),
    ("s3", "GetBucketIntelligentTieringConfiguration"): ("s3:GetIntelligentTieringConfiguration",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    # CloudWatch Logs authorizes tag reads of a log group under both names.
    ("logs", "ListTagsForResource"): ("logs:ListTagsForResource", "logs:ListTagsLogGroup"),
}

# Actions that read secret material, object contents, credentials or data: never granted to the
# conformance role, and denied outright, so the role stays safe if someone later attaches a broader
# read-only policy to it too. The guard never sends these operations either: they are not on its
# allow-list (conformance/guard.py).
FORBIDDEN = frozenset(
    {
        "athena:GetQueryResults",
        "codeartifact:GetAuthorizationToken",
        "codecommit:GetFile",
        "cognito-identity:GetCredentialsForIdentity",
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "dynamodb:GetRecords",  # DynamoDB Streams
        "dynamodb:Query",
        "dynamodb:Scan",
        "ec2:DescribeInstanceAttribute",  # userData
        "ec2:GetConsoleOutput",
        "ec2:GetConsoleScreenshot",
        "ec2:GetLaunchTemplateData",  # userData
        "ec2:GetPasswordData",
        "ecr-public:GetAuthorizationToken",
        "ecr:GetAuthorizationToken",
        "ecr:GetDownloadUrlForLayer",
        "glue:GetConnection",  # connection passwords
        "kinesis:GetRecords",
        "kms:Decrypt",
        "lambda:GetFunction",  # environment variables and a code download URL
        "lightsail:GetRelationalDatabaseMasterUserPassword",
        "logs:FilterLogEvents",
        "logs:GetLogEvents",
        "logs:GetLogRecord",
        "logs:GetQueryResults",
        "rds-db:connect",  # what an RDS IAM auth token (generate_db_auth_token) is signed for
        "redshift:GetClusterCredentials",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "secretsmanager:BatchGetSecretValue",
        "secretsmanager:GetSecretValue",
        "sqs:ReceiveMessage",
        "ssm:GetParameter",  # IAM cannot tell a decrypting read from a plain one
        "ssm:GetParameterHistory",
        "ssm:GetParameters",
        "ssm:GetParametersByPath",
    }
)

# Operations AWS authorizes for every principal: no policy statement can grant or deny them.
UNCONDITIONAL = frozenset({("sts", "GetCallerIdentity")})


def iam_actions(service: str, operation: str) -> tuple[str, ...]:
    """The IAM actions a principal needs to call ``service`` (a boto3 client name) ``operation``."""
    if (service, operation) in UNCONDITIONAL:
        return ()
    return EXCEPTIONS.get((service, operation), (f"{PREFIXES.get(service, service)}:{operation}",))


def iam_action(service: str, operation: str) -> str:
    """The one action to name in a message (the first that authorizes the operation)."""
    return next(iter(iam_actions(service, operation)), f"{service}:{operation}")
