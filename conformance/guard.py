"""The read-only guard: the suite sends exactly the operations its collectors call, nothing else.

``READ_OPERATIONS`` is the one committed list. Every client the suite reads with refuses any other
operation before it is serialized, signed or sent; the IAM policy is generated from the same list
(``conformance/policy.py``); and ``tests/test_policy.py`` fails when the collectors call an
operation that is not on it, or no longer call one that is. A read that returns secrets,
credentials or data (``GetSecretValue``, ``lambda:GetFunction``, ``GetQueryResults``, …) is
refused like a write: it is simply not on the list.
"""

from __future__ import annotations

from conformance.errors import ConformanceError

# (boto3 client name, operation name): every operation the suite sends.
READ_OPERATIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("acm", "DescribeCertificate"),
        ("acm", "ListCertificates"),
        ("acm", "ListTagsForCertificate"),
        ("ce", "ListCostAllocationTags"),
        ("amp", "ListWorkspaces"),
        ("application-autoscaling", "DescribeScalableTargets"),
        ("application-autoscaling", "DescribeScalingPolicies"),
        ("cloudfront", "GetDistribution"),
        ("cloudfront", "ListDistributions"),
        ("cloudfront", "ListTagsForResource"),
        ("cloudwatch", "DescribeAlarms"),
        ("cloudwatch", "ListDashboards"),
        ("cloudwatch", "ListMetrics"),
        ("cloudwatch", "ListTagsForResource"),
        ("codebuild", "BatchGetProjects"),
        ("codebuild", "ListProjects"),
        ("codedeploy", "GetDeploymentGroup"),
        ("codedeploy", "ListApplications"),
        ("codedeploy", "ListDeploymentGroups"),
        ("codepipeline", "GetPipeline"),
        ("codepipeline", "ListPipelines"),
        ("codepipeline", "ListTagsForResource"),
        ("dynamodb", "DescribeTable"),
        ("dynamodb", "ListTables"),
        ("dynamodb", "ListTagsOfResource"),
        ("ec2", "DescribeAddresses"),
        ("ec2", "DescribeImages"),
        ("ec2", "DescribeInstances"),
        ("ec2", "DescribeInternetGateways"),
        ("ec2", "DescribeNatGateways"),
        ("ec2", "DescribeRouteTables"),
        ("ec2", "DescribeSecurityGroups"),
        ("ec2", "DescribeSubnets"),
        ("ec2", "DescribeVpcs"),
        ("ecr", "DescribeRepositories"),
        ("ecr", "ListTagsForResource"),
        ("ecs", "DescribeClusters"),
        ("ecs", "DescribeServices"),
        ("ecs", "DescribeTaskDefinition"),
        ("ecs", "ListClusters"),
        ("ecs", "ListServices"),
        ("elasticache", "DescribeCacheClusters"),
        ("elasticache", "DescribeCacheSubnetGroups"),
        ("elasticache", "DescribeReplicationGroups"),
        ("elasticache", "DescribeReservedCacheNodes"),
        ("elasticache", "ListTagsForResource"),
        ("elbv2", "DescribeListeners"),
        ("elbv2", "DescribeLoadBalancers"),
        ("elbv2", "DescribeTags"),
        ("elbv2", "DescribeTargetGroups"),
        ("iam", "GetOpenIDConnectProvider"),
        ("iam", "ListOpenIDConnectProviders"),
        ("iam", "ListRoleTags"),
        ("iam", "GetAccountAuthorizationDetails"),
        ("iam", "ListAccessKeys"),
        ("iam", "ListRoles"),
        ("logs", "DescribeLogGroups"),
        ("logs", "ListTagsForResource"),
        ("opensearch", "DescribeDomains"),
        ("opensearch", "DescribeReservedInstances"),
        ("opensearch", "ListDomainNames"),
        ("opensearch", "ListTags"),
        ("rds", "DescribeDBInstanceAutomatedBackups"),
        ("rds", "DescribeDBInstances"),
        ("rds", "DescribeDBSubnetGroups"),
        ("rds", "DescribeReservedDBInstances"),
        ("route53", "ListHostedZones"),
        ("route53", "ListResourceRecordSets"),
        ("route53", "ListTagsForResource"),
        ("s3", "GetBucketEncryption"),
        ("s3", "GetBucketLocation"),
        ("s3", "GetBucketReplication"),
        ("s3", "GetBucketTagging"),
        ("s3", "GetBucketVersioning"),
        ("s3", "GetPublicAccessBlock"),
        ("s3", "ListBuckets"),
        ("secretsmanager", "ListSecrets"),
        ("sns", "ListSubscriptions"),
        ("sns", "ListTagsForResource"),
        ("sns", "ListTopics"),
        ("sqs", "GetQueueAttributes"),
        ("sqs", "ListQueueTags"),
        ("sqs", "ListQueues"),
        ("wafv2", "GetWebACLForResource"),
        ("wafv2", "ListTagsForResource"),
        ("xray", "GetSamplingRules"),
        # The live target's preflight: whose credentials these are (needs no permission).
        ("sts", "GetCallerIdentity"),
    }
)


class MutationRefused(ConformanceError):
    """An operation not on the allow-list was attempted; it was stopped before leaving the
    process. A write, or a read the suite has no business making (secrets, credentials, data)."""


def refusal(service: str, operation: str) -> str | None:
    """Why ``service:operation`` may not be sent, or None when it is on the allow-list."""
    if (service, operation) in READ_OPERATIONS:
        return None
    return (
        f"{service}:{operation} is not one of the {len(READ_OPERATIONS)} read operations the "
        "suite makes (conformance/guard.py); it sends nothing else"
    )


def enforce(service: str, operation: str) -> None:
    reason = refusal(service, operation)
    if reason is not None:
        raise MutationRefused(f"refused before sending: {reason}")
