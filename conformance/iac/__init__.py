"""Infrastructure as code before apply: an OpenTofu/Terraform plan read as the inventory the AWS
collectors produce, so the same checks judge a pull request before anything is applied.

:mod:`conformance.iac.plan` reads ``tofu show -json PLANFILE`` (``terraform show -json``: the
same format), :mod:`conformance.iac.hcl` the configuration's ``.tf`` files themselves, both into
the same :class:`~conformance.iac.resources.Resource` rows (a configuration read statically is a
plan creating everything it declares, with what only apply or a plan could know unknown), and
:mod:`conformance.iac.sections` turns those rows into the inventory's sections.
:func:`conformance.iac.plan.plan_snapshot` gives a snapshot shaped as
:meth:`conformance.inventory.Inventory.snapshot` makes it, read through
``SavedInventory(SavedSnapshot.of(snapshot, ...), inputs)``, plus two keys of its own that
``SavedSnapshot.of`` ignores and the plan and iac targets must act on:

``unknown``: ``{service: ["ADDRESS.ATTRIBUTE", ...]}``, every attribute a section needed whose
    value is unknown until apply (``after_unknown``), e.g.
    ``aws_db_instance.main.performance_insights_enabled``. Its field then holds no real value:
    None where the model allows it, else a placeholder ``<ADDRESS.ATTRIBUTE>`` for a string, or
    the type's zero (False, 0) for a flag or a number. A plan target skips, before comparing,
    every check that reads one of them: "not verifiable before apply: ADDRESS.ATTRIBUTE is
    unknown"; the zero is never a verdict.
``unknown_fields``: ``{service: [{"path", "reason"}]}``, where each unknown went: the path of
    the field (names, list indexes, dict keys) within the section, or of a whole model or the
    whole section where the field is not known, and the reason ("ADDRESS.ATTRIBUTE is unknown");
    likewise a field no configuration holds (the host's AMIs). The plan and iac targets
    (:mod:`conformance.iac.target`) make those fields raise when a check reads them.
``stateful_changes``: ``[{"address", "type", "actions", "message"}]``, every planned delete or
    replacement of a resource that holds data (a DB instance, a bucket, a DynamoDB table):
    a finding of its own, whatever the checks say.
``not_read``: what the reader could not read at all, one line each (a registry module of a
    configuration read statically): to be shown, never silently dropped.

Identities are not values. An id, ARN or Elastic IP address unknown before apply is a stable
placeholder made from the resource address (``sg-<module.network.aws_security_group.web>``,
``arn:aws:sqs:REGION:<account>:NAME``), keeping the prefix or shape the checks rely on (``igw-``
routes, an ARN's last part). Where a resource names another one by an id still unknown (a rule's
security group, a subnet's VPC, a record's Elastic IP) the relationship is read from the
``configuration`` references and the other resource's placeholder is used, so a relationship the
configuration states is checked exactly as AWS would report it, and such identities are not
listed as unknown.

Sensitive values (``after_sensitive``, ``sensitive_values``) are replaced by None as the plan is
read, before any section sees them; variables (sensitive or not) are never copied, and a
sensitive ``region`` variable is not used. Nothing sensitive is recorded, not even its name.
"""
