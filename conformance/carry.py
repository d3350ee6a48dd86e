"""Values an earlier phase documented that still hold, carried into a later phase's spec.

A phase does not restate what it keeps (the queues, the buckets, the state backend, the tags),
and copying those values by hand into every phase file would let the copies drift apart. So a
group may be written ``{carried_from: 1}``: it is then the group as phase 1 documents it, every
value keeping the section it was documented in, so that the evidence names "Phase 1 — …" as its
source. Beside ``carried_from``:

- other keys override what is carried; they take the ``section`` written beside them (required
  with an override), which also becomes the group's own section;
- ``omit`` drops entries of the group's mappings by dotted path (``alarms.ec2-high-cpu``).

A single value may be carried the same way: ``{carried_from: {phase: 1, path:
compose.environment}, note: ...}`` is that value of phase 1, with its section. ``carried_from`` is
a phase number, or ``{phase, environment, path}`` (the environment defaults to the one being
read, the path to the same place). Carrying is resolved on the YAML data before validation, so the
result is validated exactly as if it had been written out.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, get_args, get_origin

from pydantic import BaseModel

from conformance.errors import UsageError
from conformance.yamlfile import dotted, shown

if TYPE_CHECKING:
    from conformance.spec import PhaseSpec

CARRIED = "carried_from"
OMIT = "omit"
Where = Callable[[Sequence[object]], str]
Loader = Callable[[int], "PhaseSpec"]


@dataclass(frozen=True)
class Source:
    phase: int
    environment: str
    path: tuple[str, ...]


def resolve(data: Any, phase: int, load: Loader, where: Where) -> Any:
    """The phase file's data with every carried group and value replaced by what it carries."""
    from conformance.spec import EnvironmentSpec

    if not isinstance(data, dict) or not isinstance(data.get("environments"), dict):
        return data
    environments: dict[Any, Any] = {}
    for name, env in data["environments"].items():
        if not isinstance(env, dict):
            environments[name] = env
            continue
        resolved: dict[Any, Any] = {}
        for key, raw in env.items():
            field = EnvironmentSpec.model_fields.get(str(key))
            loc = ("environments", name, key)
            if field is None or not isinstance(raw, dict):
                resolved[key] = raw  # validation reports it
            elif CARRIED in raw:
                resolved[key] = _carried_group(field.annotation, raw, loc, phase, load, where)
            else:
                resolved[key] = _carried_values(field.annotation, raw, loc, phase, load, where)
        environments[name] = resolved
    return {**data, "environments": environments}


def _carried_group(
    annotation: Any,
    raw: dict[str, Any],
    loc: tuple[Any, ...],
    phase: int,
    load: Loader,
    where: Where,
) -> Any:
    source = _source(raw[CARRIED], loc, phase, where)
    carried = _dumped(source, load, loc, where)
    overrides = {k: v for k, v in raw.items() if k not in (CARRIED, OMIT, "section")}
    section = raw.get("section")
    if overrides and not isinstance(section, str):
        raise UsageError(
            f"{where(loc)}: invalid spec: {dotted(loc)}: a carried group that overrides "
            f"{', '.join(map(str, overrides))} needs the section the new values come from"
        )
    if section is not None and not overrides:
        raise UsageError(
            f"{where((*loc, 'section'))}: invalid spec: {dotted(loc)}.section: a carried group "
            "keeps its sections; a section is given only with values that override them"
        )
    merged = _merge(annotation, carried, overrides, section) if overrides else carried
    if overrides and isinstance(merged, dict):
        merged["section"] = section
    for path in _omitted(raw.get(OMIT), (*loc, OMIT), where):
        _drop(merged, path, (*loc, OMIT), where)
    return merged


def _carried_values(
    annotation: Any,
    raw: dict[str, Any],
    loc: tuple[Any, ...],
    phase: int,
    load: Loader,
    where: Where,
) -> Any:
    """A group written out, some of whose values are carried one by one."""
    model = _unwrap(annotation)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return raw
    out = dict(raw)
    for key, value in raw.items():
        if isinstance(value, dict) and CARRIED in value and key in model.model_fields:
            at = (*loc, key)
            source = _source(value[CARRIED], at, phase, where)
            carried = _dumped(source, load, at, where)
            extra = sorted(set(value) - {CARRIED, "note"})
            if extra:
                raise UsageError(
                    f"{where(at)}: invalid spec: {dotted(at)}: a carried value takes only a "
                    f"note beside carried_from, not {', '.join(extra)}"
                )
            if not (isinstance(carried, dict) and "value" in carried):
                raise UsageError(
                    f"{where(at)}: invalid spec: {dotted(at)}: phase {source.phase}'s "
                    f"{dotted(source.path)} is a group, not a value; carry it as a group"
                )
            out[key] = {**carried, **({"note": value["note"]} if "note" in value else {})}
    return out


def _source(spec: Any, loc: tuple[Any, ...], phase: int, where: Where) -> Source:
    at = (*loc, CARRIED)
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = {"phase": spec}
    if not isinstance(spec, dict) or set(spec) - {"phase", "environment", "path"}:
        raise UsageError(
            f"{where(at)}: invalid spec: {dotted(at)}: expected a phase number or "
            f"{{phase, environment, path}}, not {shown(spec)}"
        )
    earlier = spec.get("phase")
    if not isinstance(earlier, int) or isinstance(earlier, bool) or not 1 <= earlier < phase:
        raise UsageError(
            f"{where(at)}: invalid spec: {dotted(at)}: a value is carried from an earlier phase "
            f"(1 to {phase - 1}), not {shown(earlier)}"
        )
    path = spec.get("path", ".".join(map(str, loc[2:])))
    environment = spec.get("environment", loc[1])
    if not isinstance(path, str) or not path or not isinstance(environment, str):
        raise UsageError(f"{where(at)}: invalid spec: {dotted(at)}: path and environment are text")
    return Source(earlier, environment, tuple(path.split(".")))


def _dumped(source: Source, load: Loader, loc: tuple[Any, ...], where: Where) -> Any:
    """The carried part of the earlier phase, written out: every value with its section."""
    node: Any = load(source.phase).environment(source.environment)
    for part in source.path:
        node = getattr(node, part, None) if isinstance(node, BaseModel) else None
        if node is None:
            raise UsageError(
                f"{where((*loc, CARRIED))}: invalid spec: {dotted(loc)}: phase {source.phase} "
                f"({source.environment}) documents no {dotted(source.path)} to carry"
            )
    return node.model_dump(mode="json") if isinstance(node, BaseModel) else node


def _merge(annotation: Any, carried: Any, override: Any, section: str | None) -> Any:
    """``override`` laid over the written-out ``carried``: its own values take ``section``."""
    from conformance.spec import Group, _inherit, _is_documented

    model = _unwrap(annotation)
    if carried is None or section is None or _is_documented(model):
        return _inherit(annotation, override, section) if section else override
    if isinstance(model, type) and issubclass(model, Group) and isinstance(override, dict):
        own = override.get("section")
        section = own if isinstance(own, str) else section  # a group may name its own section
        out = dict(carried)
        for key, value in override.items():
            field = model.model_fields.get(key)
            out[key] = (
                value if field is None else _merge(field.annotation, out.get(key), value, section)
            )
        return out
    if get_origin(model) is dict and isinstance(override, dict) and isinstance(carried, dict):
        item = get_args(model)[1]
        return {
            **carried,
            **{k: _merge(item, carried.get(k), v, section) for k, v in override.items()},
        }
    return _inherit(annotation, override, section)


def _unwrap(annotation: Any) -> Any:
    if get_origin(annotation) in (types.UnionType, typing.Union):
        arms = [a for a in get_args(annotation) if a is not type(None)]
        return arms[0] if len(arms) == 1 else annotation
    return annotation


def _omitted(raw: Any, loc: tuple[Any, ...], where: Where) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
        raise UsageError(f"{where(loc)}: invalid spec: {dotted(loc)}: a list of dotted paths")
    return raw


def _drop(node: Any, path: str, loc: tuple[Any, ...], where: Where) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict) or leaf not in node or leaf == "section":
        raise UsageError(
            f"{where(loc)}: invalid spec: {dotted(loc)}: nothing at {shown(path)} to omit"
        )
    del node[leaf]
