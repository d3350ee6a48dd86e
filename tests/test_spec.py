"""The spec model: strict, typed, and every value knows its document section."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from conformance.contradictions import find
from conformance.errors import UsageError
from conformance.spec import Documented, load_spec


def _leaves(node: object) -> list[Documented[object]]:
    if isinstance(node, Documented):
        return [node]
    found: list[Documented[object]] = []
    if isinstance(node, dict):
        for value in node.values():
            found += _leaves(value)
    elif isinstance(node, list):
        for value in node:
            found += _leaves(value)
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            found += _leaves(getattr(node, name))
    return found


def test_every_phase_1_value_names_its_section() -> None:
    spec = load_spec(1)
    leaves = _leaves(spec)
    assert len(leaves) > 100
    assert all(leaf.section for leaf in leaves)
    network = spec.environment("production").network
    assert network is not None
    assert network.subnets["data-b"].tier.note == "required for RDS subnet group"
    assert network.vpc_cidr.section.endswith("Simplified VPC (Phase 1)")


def test_a_value_can_cite_another_section() -> None:
    host = load_spec(1).environment("production").ec2_host
    assert host is not None
    assert host.instance_type.section.endswith("AWS Service Inventory (Phase 1)")
    assert host.security_groups.section.endswith("Security Groups")


def test_the_model_expresses_phase_3_with_staging_and_production() -> None:
    spec = load_spec(3)
    staging, production = spec.environment("staging"), spec.environment("production")
    assert staging.database and production.database
    assert (staging.database.instance_class.value, production.database.instance_class.value) == (
        "db.t3.medium",
        "db.r6g.large",
    )
    assert production.cache and production.cache.nodes.value == 2
    assert production.ecs and production.ecs.services["api-gateway"].tasks
    assert (
        production.ecs.services["api-gateway"].tasks.section
        == "Phase 3 — Scale > Key Changes from Phase 2"
    )


def test_unknown_keys_are_rejected(tmp_path: Path) -> None:
    text = (Path(__file__).parent.parent / "specs" / "phase-1.yaml").read_text()
    bad = tmp_path / "phase-1.yaml"
    bad.write_text(
        text.replace("      storage_gb: 20\n", "      storage_gb: 20\n      storage_gib: 20\n")
    )
    with pytest.raises(UsageError, match=r"database.storage_gib: Extra inputs are not permitted"):
        load_spec(1, bad)


def test_wrong_types_are_rejected(tmp_path: Path) -> None:
    text = (Path(__file__).parent.parent / "specs" / "phase-1.yaml").read_text()
    bad = tmp_path / "phase-1.yaml"
    bad.write_text(text.replace("vpc_cidr: 10.0.0.0/16", "vpc_cidr: 10.0.0.0/33"))
    with pytest.raises(UsageError, match=r"network.vpc_cidr.value"):
        load_spec(1, bad)


def test_broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "phase-1.yaml"
    bad.write_text("phase: 1\nname: [Launch\n")
    with pytest.raises(UsageError, match=rf"{bad}:3: not valid YAML"):
        load_spec(1, bad)


def test_contradictions_of_the_document_are_found() -> None:
    titles = {c.title for c in find(load_spec(1).environment("production"))}
    assert titles == {
        "PITR disabled with automated backups retained",
        "container memory total does not add up",
    }


def test_phase_2_carries_phase_1_values_with_their_sections() -> None:
    env = load_spec(2).environment("production")
    assert env.services and env.iac and env.tags and env.database and env.alarms
    # Carried as Phase 1 documents them: the evidence names Phase 1 as the source.
    assert env.services.log_group.section.startswith("Phase 1 — ")
    launch = load_spec(1).environment("production").services
    assert launch and env.services.secrets == launch.secrets
    assert env.iac.lock_table_key.section.startswith("Phase 1 — ")
    assert env.tags.required.section == "Cost Allocation Tags"
    assert env.database.extensions and env.database.extensions.section.startswith("Phase 1 — ")
    # Overridden by Phase 2: the later section.
    assert env.database.instance_class.value == "db.t3.medium"
    assert env.database.instance_class.section == "Phase 2 — Growth > Database Configuration"
    assert env.services.dns_records[0].target.value == "alb"
    # Omitted: the EC2 alarms have no instance to watch in Phase 2.
    assert sorted(env.alarms.alarms) == ["rds-high-cpu", "sqs-queue-depth"]
    assert env.alarms.alarms["rds-high-cpu"].threshold.section.startswith("Phase 1 — ")
    # A single value carried from another group: the compose profiles become the ECS ones.
    assert env.ecs and env.ecs.environment
    assert env.ecs.environment.value["search-service"] == {"SPRING_PROFILES_ACTIVE": "prod,fts"}
    assert env.ecs.environment.section.endswith("Docker Compose Configuration")
    assert env.ecs.environment.note and "unchanged" in env.ecs.environment.note


def _phase_2_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (Path(__file__).parent.parent / "specs" / "phase-2.yaml").read_text()
    assert old in text
    bad = tmp_path / "phase-2.yaml"
    bad.write_text(text.replace(old, new, 1))
    return bad


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "    iac:\n      carried_from: 1\n",
            "    iac:\n      carried_from: 2\n",
            r"phase-2.yaml:\d+: invalid spec: environments.production.iac.carried_from: a value "
            r"is carried from an earlier phase \(1 to 1\), not 2",
        ),
        (
            "    iac:\n      carried_from: 1\n",
            "    iac:\n      carried_from: {phase: 1, path: iac_settings}\n",
            r"phase-2.yaml:\d+: invalid spec: environments.production.iac: phase 1 \(production\) "
            r"documents no iac_settings to carry",
        ),
        (
            "    iac:\n      carried_from: 1\n",
            "    iac:\n      carried_from: 1\n      tool: Terraform\n",
            r"environments.production.iac: a carried group that overrides tool needs the section",
        ),
        (
            "        - alarms.ec2-status-check\n",
            "        - alarms.ec2-status-checks\n",
            r"environments.production.alarms.omit: nothing at 'alarms.ec2-status-checks' to omit",
        ),
        (
            "      storage_gb: 50\n",
            "      storage_gb: -50\n",
            r"phase-2.yaml:\d+: invalid spec: environments.production.database.storage_gb.value: "
            r"Input should be greater than or equal to 1",
        ),
    ],
)
def test_a_bad_carry_is_one_line_naming_file_line_and_field(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        load_spec(2, _phase_2_with(tmp_path, old, new))
