"""Cost-allocation tags: every project resource of every inventory section carries them."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

import conformance.inventory
from conformance.checks import CheckContext, ResourceMissing, check
from conformance.inventory import SECTIONS, Section, Tagged
from conformance.spec import EnvironmentSpec, TagsSpec

# Check id -> the tag key it verifies.
TAG_CHECKS = {
    "tags.environment": "Environment",
    "tags.service": "Service",
    "tags.project": "Project",
    "tags.cost_center": "CostCenter",
}


def _taggable(env: EnvironmentSpec) -> list[type[Section]]:
    """Every section that names taggable resources of this phase, each inventory module
    imported first."""
    package = conformance.inventory
    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")
    return sorted(
        (
            cls
            for cls in SECTIONS.values()
            if cls.tagged is not Section.tagged and cls.documented(env)
        ),
        key=lambda cls: cls.service,  # the same order whichever module was imported first
    )


def _resources(ctx: CheckContext) -> list[Tagged]:
    """The project's resources; a section that cannot be collected stops the check, and none
    at all (an account or plan of another project) fails it: no resource carries the tags."""
    found = [r for cls in _taggable(ctx.env) for r in ctx.get(cls).tagged(ctx.inputs)]
    if not found:
        raise ResourceMissing(f"resources named {ctx.inputs.prefix}-… to carry the tags", [])
    return found


def _requires(key: str) -> Callable[[EnvironmentSpec], TagsSpec | None]:
    def area(env: EnvironmentSpec) -> TagsSpec | None:
        return env.tags if env.tags is not None and key in env.tags.required.value else None

    return area


def _verify(key: str) -> Callable[[CheckContext, TagsSpec], None]:
    def verify(ctx: CheckContext, tags: TagsSpec) -> None:
        required = tags.required.value[key]
        documented = tags.required.derive(required)
        for resource in _resources(ctx):
            actual = resource.tags.get(key)
            ctx.expect(
                documented,
                "no such tag" if actual is None else actual or "(empty)",
                subject=f"{resource.resource} tag {key}",
                expected=required if required is not None else "any non-empty value",
                ok=bool(actual) if required is None else actual == required,
            )

    return verify


for _id, _key in TAG_CHECKS.items():
    check(
        _id,
        title=f"Every project resource carries the {_key} cost-allocation tag",
        area=_requires(_key),
        remediation=f"Tag every project resource with {_key} (e.g. via the default_tags).",
    )(_verify(_key))
