"""Read an OpenTofu configuration directory statically (python-hcl2, the parser checkov uses)
into the resources a plan would hold, for teams that cannot produce a plan (no credentials on
forks).

Resolved statically: variable defaults, ``terraform.tfvars``, ``*.auto.tfvars`` and the given
tfvars files; locals; ``for_each`` over a resolved set or map, and ``count``; string
interpolation of resolved values; ``toset``/``tolist`` of a list; references between resources
and through local modules' variables and outputs; the aws provider's ``default_tags`` merged
into every resource's ``tags_all``. What cannot be resolved (a data source, any other function
call, a variable without a value, an attribute the configuration leaves to the provider) is
unknown, as a plan's ``after_unknown`` is: the sections list it, and its checks are "not
verifiable statically". A sensitive variable's value is never read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from lark.exceptions import LarkError, UnexpectedInput

from conformance.errors import UsageError
from conformance.iac.plan import Plan
from conformance.iac.resources import Resource, Target

# A reference to a resource inside an expression: TYPE.NAME, an instance key, the attribute.
REFERENCE = re.compile(
    r"(?<![\w.])(?P<type>[a-z][a-z0-9]*_[a-z0-9_]+)\.(?P<name>[A-Za-z_][\w-]*)"
    r"(?:\[(?P<key>[^\]]+)\])?(?:\.(?P<attribute>[A-Za-z_]\w*))?"
)
NAMED = re.compile(r"(?P<root>var|local|each|count)\.(?P<path>\w+(?:\.\w+)*)")
MODULE_OUTPUT = re.compile(r"module\.(?P<call>[\w-]+)\.(?P<output>\w+)")
LIST_FUNCTION = re.compile(r"(?:toset|tolist)\((?P<list>\[.*\])\)", re.DOTALL)
TEMPLATE_PART = re.compile(r"\$\{((?:[^{}]|\{[^{}]*\})*)\}")
META = frozenset({"count", "for_each", "depends_on", "lifecycle", "provider", "provisioner"})
# Optional attributes the provider does not compute: left out, they have this value (a plan
# shows it as known), not an unknown one.
PROVIDER_DEFAULTS: dict[str, dict[str, Any]] = {
    "aws_cloudwatch_metric_alarm": {"actions_enabled": True, "datapoints_to_alarm": None},
    "aws_security_group_rule": {"ipv6_cidr_blocks": None, "prefix_list_ids": None},
}
BLOCK_MARKERS = frozenset({"__is_block__", "__comments__", "__start_line__", "__end_line__"})


@dataclass(frozen=True)
class Unknown:
    """A value not known statically, and the resources it references."""

    targets: tuple[Target, ...] = ()


@dataclass
class _Module:
    """One module instance: where it is, its blocks and inputs, its resource instances."""

    directory: Path
    prefix: str  # "" or "module.network."
    blocks: dict[str, list[Any]]
    inputs: dict[str, Any]
    children: dict[str, _Module] = field(default_factory=dict)
    # (type, name) -> [(address, body, each)]; each is (each.key, each.value) or None
    instances: dict[tuple[str, str], list[tuple[str, dict[str, Any], Any]]] = field(
        default_factory=dict
    )


def read_configuration(directory: Path, tfvars: Sequence[Path] = ()) -> Plan:
    """The resources the configuration in ``directory`` declares, as a plan creating them."""
    if not directory.is_dir():
        raise UsageError(f"{directory}: no such configuration directory")
    given = dict(_auto_tfvars(directory))
    for path in tfvars:
        given.update(_parse(path))
    evaluator = _Evaluator()
    try:
        root = evaluator.load(directory, "", {k: evaluator.literal(v) for k, v in given.items()})
        return Plan(
            location=str(directory),
            region=evaluator.region(root),
            resources=tuple(evaluator.resources(root, evaluator.default_tags(root))),
            stateful_changes=(),
            not_read=tuple(evaluator.not_read),
        )
    except RecursionError:
        raise UsageError(
            f"{directory}: locals, variables or module outputs refer to each other in a cycle"
        ) from None


def _parse(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            parsed: dict[str, Any] = hcl2.load(handle)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnexpectedInput as exc:
        first = str(exc).strip().splitlines()[0]
        raise UsageError(f"{path}:{exc.line}: HCL syntax error: {first}") from None
    except (LarkError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{path}: HCL syntax error: {first}") from None
    return parsed


def _auto_tfvars(directory: Path) -> Iterator[tuple[str, Any]]:
    for path in [directory / "terraform.tfvars", *sorted(directory.glob("*.auto.tfvars"))]:
        if path.is_file():
            yield from _parse(path).items()


def _labelled(blocks: list[Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, body) of blocks with one label: variable, module, output, provider."""
    for block in blocks:
        for label, body in block.items():
            if isinstance(body, dict) and label not in BLOCK_MARKERS:
                yield _unquoted(label), body


def _unquoted(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


class _Evaluator:
    """Evaluates expressions in module instances, and lists their resource instances."""

    def __init__(self) -> None:
        self.not_read: list[str] = []

    def load(self, directory: Path, prefix: str, inputs: dict[str, Any]) -> _Module:
        """A module instance and, recursively, its local child modules' instances."""
        files = sorted(directory.glob("*.tf"))
        if not files:
            raise UsageError(f"{directory}: no .tf files")
        blocks: dict[str, list[Any]] = {}
        for path in files:
            for kind, found in _parse(path).items():
                if isinstance(found, list):
                    blocks.setdefault(kind, []).extend(found)
        module = _Module(directory, prefix, blocks, inputs)
        for block in blocks.get("resource", []):
            for type_label, named in block.items():
                for name_label, body in named.items():
                    type_, name = _unquoted(type_label), _unquoted(name_label)
                    module.instances[(type_, name)] = [
                        (f"{prefix}{type_}.{name}{key}", body, each)
                        for key, each in self._expand(body, module)
                    ]
        for call, body in _labelled(blocks.get("module", [])):
            source = self.value(body.get("source"), module, None)
            if not isinstance(source, str) or not source.startswith(("./", "../")):
                self.not_read.append(
                    f"{prefix}module.{call} ({source if isinstance(source, str) else 'source'}):"
                    " only local modules are read statically; its resources are not checked"
                )
            else:
                child_inputs = {
                    k: self.value(v, module, None)
                    for k, v in body.items()
                    if k != "source" and k not in META and k not in BLOCK_MARKERS
                }
                module.children[call] = self.load(
                    directory / source, f"{prefix}module.{call}.", child_inputs
                )
        return module

    def _expand(self, body: dict[str, Any], module: _Module) -> list[tuple[str, Any]]:
        """(instance key, each) of a resource: one instance, or one per for_each/count item;
        none where the collection is not known statically."""
        if "for_each" in body:
            items = self.value(body["for_each"], module, None)
            if isinstance(items, dict):
                return [(f'["{k}"]', (k, v)) for k, v in items.items()]
            if isinstance(items, list):
                return [(f'["{k}"]', (k, k)) for k in items]
            return []
        if "count" in body:
            count = self.value(body["count"], module, None)
            return [(f"[{i}]", (i, None)) for i in range(count)] if isinstance(count, int) else []
        return [("", None)]

    def literal(self, raw: Any) -> Any:
        """A tfvars value (literals only)."""
        return self.value(raw, _Module(Path(), "", {}, {}), None)

    def region(self, root: _Module) -> str | None:
        provider = self._provider(root)
        region = self.value(provider.get("region"), root, None) if provider else None
        return region if isinstance(region, str) else None

    def default_tags(self, root: _Module) -> dict[str, Any]:
        provider = self._provider(root) or {}
        blocks = provider.get("default_tags") or [{}]
        tags = self.value(blocks[0].get("tags") or {}, root, None)
        return tags if isinstance(tags, dict) else {}

    @staticmethod
    def _provider(root: _Module) -> dict[str, Any] | None:
        """The default (unaliased) aws provider block."""
        return next(
            (
                body
                for name, body in _labelled(root.blocks.get("provider", []))
                if name == "aws" and "alias" not in body
            ),
            None,
        )

    def resources(self, module: _Module, default_tags: dict[str, Any]) -> Iterator[Resource]:
        for (type_, _), instances in module.instances.items():
            for address, body, each in instances:
                values: dict[str, Any] = {
                    **PROVIDER_DEFAULTS.get(type_, {}),
                    **{
                        k: self.value(v, module, each)
                        for k, v in body.items()
                        if k not in META and k not in BLOCK_MARKERS
                    },
                }
                tags = values.get("tags")
                if tags is None or isinstance(tags, dict):
                    values["tags_all"] = {**default_tags, **(tags or {})}
                yield _resource(address, type_, values)
        for child in module.children.values():
            yield from self.resources(child, default_tags)

    def value(self, raw: Any, module: _Module, each: Any) -> Any:
        """A configured value, evaluated; what cannot be is an :class:`Unknown`."""
        if isinstance(raw, list):
            return [self.value(v, module, each) for v in raw]
        if isinstance(raw, dict):
            return {
                _unquoted(k): self.value(v, module, each)
                for k, v in raw.items()
                if k not in BLOCK_MARKERS
            }
        if not isinstance(raw, str):
            return raw
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            return self._template(raw[1:-1], module, each)
        if raw.startswith("${") and raw.endswith("}"):
            return self._expression(raw[2:-1].strip(), module, each)
        return raw

    def _template(self, text: str, module: _Module, each: Any) -> Any:
        parts = [self._expression(p.strip(), module, each) for p in TEMPLATE_PART.findall(text)]
        unknown = [p for p in parts if isinstance(p, Unknown)]
        if unknown:
            return Unknown(tuple(t for p in unknown for t in p.targets))
        if any(p is None for p in parts):  # a sensitive value: never interpolated
            return None
        found = iter(parts)
        return TEMPLATE_PART.sub(lambda _: _shown(next(found)), text)

    def _expression(self, expression: str, module: _Module, each: Any) -> Any:
        named = NAMED.fullmatch(expression)
        if named is not None:
            return self._named(named["root"], named["path"].split("."), module, each)
        output = MODULE_OUTPUT.fullmatch(expression)
        if output is not None:
            return self._output(module, output["call"], output["output"])
        listed = LIST_FUNCTION.fullmatch(expression)
        if expression.startswith("[") or listed is not None:
            text = listed["list"] if listed is not None else expression
            try:
                parsed = hcl2.loads(f"value = {text}\n")["value"]
            except (LarkError, ValueError):
                parsed = None
            if isinstance(parsed, list):  # a list literal; a for expression stays unknown
                return self.value(parsed, module, each)
        if expression.startswith('"') and expression.endswith('"'):
            return self._template(expression[1:-1], module, each)
        if expression.isdigit():
            return int(expression)
        return Unknown(self._references(expression, module, each))

    def _named(self, root: str, path: list[str], module: _Module, each: Any) -> Any:
        if root == "var":
            return self._variable(module, path[0])
        if root == "local":
            return self._local(module, path[0])
        if each is None:
            return Unknown()
        found = each[0] if path[0] in ("key", "index") else each[1]
        for part in path[1:]:
            found = found.get(part) if isinstance(found, dict) else Unknown()
        return found

    def _variable(self, module: _Module, name: str) -> Any:
        declared = dict(_labelled(module.blocks.get("variable", [])))
        body = declared.get(name, {})
        if body.get("sensitive") is True:
            return None  # never read: masked as a plan's sensitive values are
        if name in module.inputs:
            return module.inputs[name]
        if "default" in body:
            return self.value(body["default"], module, None)
        return Unknown()

    def _local(self, module: _Module, name: str) -> Any:
        for block in module.blocks.get("locals", []):
            if name in block:
                return self.value(block[name], module, None)
        return Unknown()

    def _output(self, module: _Module, call: str, output: str) -> Any:
        child = module.children.get(call)
        if child is None:
            return Unknown()
        body = dict(_labelled(child.blocks.get("output", []))).get(output, {})
        return self.value(body.get("value"), child, None)

    def _references(self, expression: str, module: _Module, each: Any) -> tuple[Target, ...]:
        """The resource instances ``expression`` references (``[each.key]`` resolved)."""
        found: list[Target] = []
        for matched in REFERENCE.finditer(expression):
            if expression[: matched.start()].endswith("data."):
                continue
            instances = module.instances.get((matched["type"], matched["name"]), [])
            key = matched["key"]
            if key is not None:
                index = self._expression(key.strip(), module, each)
                wanted = f"[{index}]" if isinstance(index, int) else f'["{index}"]'
                instances = [i for i in instances if i[0].endswith(wanted)]
            found += [Target(address, matched["attribute"]) for address, _, _ in instances]
        return tuple(dict.fromkeys(found))


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _resource(address: str, type_: str, evaluated: dict[str, Any]) -> Resource:
    """A resource from its evaluated attributes: what is unknown is marked, its references
    kept at the attribute's path and every path above it."""
    references: dict[str, list[Target]] = {}

    def split(value: Any, path: tuple[str, ...]) -> tuple[Any, Any]:
        if isinstance(value, Unknown):
            for depth in range(1, len(path) + 1):
                references.setdefault(".".join(path[:depth]), []).extend(value.targets)
            return None, True
        if isinstance(value, list):
            pairs = [split(v, (*path, str(i))) for i, v in enumerate(value)]
            return [p[0] for p in pairs], [p[1] for p in pairs]
        if isinstance(value, dict):
            pairs_by_key = {k: split(v, (*path, k)) for k, v in value.items()}
            return {k: p[0] for k, p in pairs_by_key.items()}, {
                k: p[1] for k, p in pairs_by_key.items()
            }
        return value, False

    values, marks = {}, {}
    for attribute, value in evaluated.items():
        values[attribute], marks[attribute] = split(value, (attribute,))
    return Resource(
        address=address,
        type=type_,
        values=values,
        unknown=_LeftToTheProvider(marks),
        references={k: tuple(dict.fromkeys(v)) for k, v in references.items()},
        configured=frozenset(evaluated),
    )


class _LeftToTheProvider(Mapping[str, Any]):
    """Unknown marks where an attribute the configuration does not set is unknown too: the
    provider chooses it at apply (a plan marks such computed attributes the same way)."""

    def __init__(self, marks: dict[str, Any]) -> None:
        self.marks = marks

    def __getitem__(self, key: str) -> Any:
        return self.marks.get(key, True)

    def __iter__(self) -> Iterator[str]:
        return iter(self.marks)

    def __len__(self) -> int:
        return len(self.marks)
