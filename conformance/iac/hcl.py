"""Read an OpenTofu configuration directory statically (python-hcl2, the parser checkov uses)
into the resources a plan would hold, for teams that cannot produce a plan (no credentials on
forks).

Each expression is parsed with python-hcl2's grammar and evaluated. Resolved statically:
variable defaults, ``terraform.tfvars``, ``*.auto.tfvars`` and the given tfvars files; locals;
``for_each`` over a resolved set or map, and ``count``, on resources and local modules (one not
resolved is listed as not read); ``dynamic`` blocks; string templates, heredocs, for
expressions, conditionals and operators over resolved values; the pure functions
configurations use most (``merge``, ``format``, ``cidrsubnet``, ``lookup``, ``concat``,
``tomap``, ``toset``, ``jsonencode`` …); references between resources (an attribute the
other resource sets is its value, as in a plan) and through local modules' variables and
outputs; the aws provider's ``default_tags`` merged into every
resource's ``tags_all``. What cannot be resolved (a data source, another function, a function
of an unknown value, a variable without a value, an attribute the configuration leaves to the
provider) is unknown, as a plan's ``after_unknown`` is, keeping the resources it references:
the sections list it, and its checks are "not verifiable before apply". A sensitive variable's
value is never read.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from hcl2.parser import parser as hcl2_parser
from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedInput

from conformance.errors import UsageError
from conformance.iac.plan import Plan
from conformance.iac.resources import Resource, Target

# A reference to a resource inside an expression: TYPE.NAME, an instance key, the attribute.
REFERENCE = re.compile(
    r"(?<![\w.])(?P<type>[a-z][a-z0-9]*_[a-z0-9_]+)\.(?P<name>[A-Za-z_][\w-]*)"
    r"(?:\[(?P<key>[^\]]+)\])?(?:\.(?P<attribute>[A-Za-z_]\w*))?"
)
META = frozenset({"count", "for_each", "depends_on", "lifecycle", "provider", "provisioner"})
# Optional attributes the provider does not compute: left out, they have this value (a plan
# shows it as known), not an unknown one.
PROVIDER_DEFAULTS: dict[str, dict[str, Any]] = {
    "aws_cloudwatch_metric_alarm": {"actions_enabled": True, "datapoints_to_alarm": None},
    "aws_db_instance": {"publicly_accessible": False, "performance_insights_enabled": False},
    "aws_security_group_rule": {"ipv6_cidr_blocks": None, "prefix_list_ids": None},
}
BLOCK_MARKERS = frozenset({"__is_block__", "__comments__", "__start_line__", "__end_line__"})


@dataclass(frozen=True)
class Unknown:
    """A value not known statically, and the resources it references. A reference to a whole
    resource instance keeps its body too: an attribute the configuration sets there is known
    (as a plan knows it), one it leaves to the provider stays unknown."""

    targets: tuple[Target, ...] = ()
    instance: _Instance | None = field(default=None, compare=False)


@dataclass(frozen=True)
class _Instance:
    """A resource instance as a reference sees it: its module instance, body and ``each``."""

    module: _Module
    body: dict[str, Any]
    each: Any


@dataclass
class _Module:
    """One module instance: where it is, its blocks and inputs, its resource instances."""

    directory: Path
    prefix: str  # "" or "module.network."
    blocks: dict[str, list[Any]]
    # The root's: values (tfvars). A child's: the call's expressions, evaluated when read in
    # the caller (with the call's ``each``), so that they may name modules loaded after it.
    inputs: dict[str, Any]
    caller: tuple[_Module, Any] | None = None
    declared: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # call -> its instances by for_each/count key (None: a call without either)
    children: dict[str, dict[Any, _Module]] = field(default_factory=dict)
    # (type, name) -> [(address, body, each)], expanded when first read; each is
    # (each.key, each.value), (count.index, None) or None
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

    def load(
        self,
        directory: Path,
        prefix: str,
        inputs: dict[str, Any],
        caller: tuple[_Module, Any] | None = None,
    ) -> _Module:
        """A module instance and, recursively, its local child modules' instances."""
        files = sorted(directory.glob("*.tf"))
        if not files:
            raise UsageError(f"{directory}: no .tf files")
        blocks: dict[str, list[Any]] = {}
        for path in files:
            for kind, found in _parse(path).items():
                if isinstance(found, list):
                    blocks.setdefault(kind, []).extend(found)
        module = _Module(directory, prefix, blocks, inputs, caller)
        for block in blocks.get("resource", []):
            for type_label, named in block.items():
                for name_label, body in named.items():
                    module.declared[(_unquoted(type_label), _unquoted(name_label))] = body
        for call, body in _labelled(blocks.get("module", [])):
            source = self.value(body.get("source"), module, None)
            if not isinstance(source, str) or not source.startswith(("./", "../")):
                self.not_read.append(
                    f"{prefix}module.{call} ({source if isinstance(source, str) else 'source'}):"
                    " only local modules are read statically; its resources are not checked"
                )
                continue
            instances = module.children.setdefault(call, {})
            for key, each in self._expand(body, module, f"{prefix}module.{call}"):
                child_inputs = {
                    k: v
                    for k, v in body.items()
                    if k != "source" and k not in META and k not in BLOCK_MARKERS
                }
                instances[each[0] if each is not None else None] = self.load(
                    directory / source, f"{prefix}module.{call}{key}.", child_inputs, (module, each)
                )
        return module

    def _expand(self, body: dict[str, Any], module: _Module, address: str) -> list[tuple[str, Any]]:
        """(instance key, each) of a resource or module call: one instance, or one per
        for_each/count item; none where the collection is not known statically (listed as
        not read: what it would create is not checked)."""
        if "for_each" in body:
            items = self.value(body["for_each"], module, None)
            if isinstance(items, dict):
                return [(f'["{k}"]', (k, v)) for k, v in items.items()]
            if isinstance(items, list) and all(isinstance(k, str) for k in items):
                return [(f'["{k}"]', (k, k)) for k in dict.fromkeys(items)]
        elif "count" in body:
            count = self.value(body["count"], module, None)
            if isinstance(count, int) and not isinstance(count, bool):
                return [(f"[{i}]", (i, None)) for i in range(count)]
        else:
            return [("", None)]
        meta = "for_each" if "for_each" in body else "count"
        self.not_read.append(
            f"{address}: its {meta} is not known statically; its instances are not checked"
        )
        return []

    def instances(
        self, module: _Module, type_: str, name: str
    ) -> list[tuple[str, dict[str, Any], Any]] | None:
        """The instances of a declared resource (None: not declared), expanded once."""
        if (type_, name) not in module.instances:
            body = module.declared.get((type_, name))
            if body is None:
                return None
            address = f"{module.prefix}{type_}.{name}"
            module.instances[(type_, name)] = [
                (f"{address}{key}", body, each) for key, each in self._expand(body, module, address)
            ]
        return module.instances[(type_, name)]

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
        for type_, name in module.declared:
            for address, body, each in self.instances(module, type_, name) or []:
                values: dict[str, Any] = {
                    **PROVIDER_DEFAULTS.get(type_, {}),
                    **{
                        k: self.value(v, module, each)
                        for k, v in body.items()
                        if k not in META and k not in BLOCK_MARKERS and k != "dynamic"
                    },
                }
                for label, generated in self._dynamic(body.get("dynamic", []), module, each):
                    static = values.get(label)
                    values[label] = (
                        generated
                        if isinstance(generated, Unknown)
                        else [*(static if isinstance(static, list) else []), *generated]
                    )
                tags = values.get("tags")
                if tags is None or isinstance(tags, dict):
                    values["tags_all"] = {**default_tags, **(tags or {})}
                yield _resource(address, type_, values)
        for children in module.children.values():
            for child in children.values():
                yield from self.resources(child, default_tags)

    def value(
        self, raw: Any, module: _Module, each: Any, bound: dict[str, Any] | None = None
    ) -> Any:
        """A configured value, evaluated (``bound``: a dynamic block's iterator); what cannot
        be is an :class:`Unknown`."""
        if isinstance(raw, list):
            return [self.value(v, module, each, bound) for v in raw]
        if isinstance(raw, dict):
            return {
                _unquoted(k): self.value(v, module, each, bound)
                for k, v in raw.items()
                if k not in BLOCK_MARKERS
            }
        if not isinstance(raw, str):
            return raw
        # python-hcl2 gives an expression as its source: "${EXPR}", or a quoted template.
        source = raw[2:-1] if raw.startswith("${") and raw.endswith("}") else raw
        if source.startswith('"<<') and source.endswith('"'):
            source = source[1:-1] + "\n"  # a heredoc
        tree = _expression_tree(source)
        if tree is None:
            return Unknown(self._references(source, module, each))
        return _Scope(self, module, each, bound or {}).evaluate(tree)

    def _dynamic(self, blocks: list[Any], module: _Module, each: Any) -> Iterator[tuple[str, Any]]:
        """``dynamic "LABEL"`` blocks: a LABEL block per item of their for_each, its content
        evaluated with the iterator (LABEL unless named) bound to the item."""
        for label, spec in _labelled(blocks):
            items = self.value(spec.get("for_each"), module, each)
            iterator = _unquoted(str(spec.get("iterator", label)))
            if isinstance(items, dict):
                pairs: list[tuple[Any, Any]] = list(items.items())
            elif isinstance(items, list):
                pairs = list(enumerate(items))
            else:
                yield label, _joined(items)
                continue
            content = (spec.get("content") or [{}])[0]
            yield (
                label,
                [
                    self.value(content, module, each, {iterator: {"key": key, "value": item}})
                    for key, item in pairs
                ],
            )

    def _variable(self, module: _Module, name: str) -> Any:
        declared = dict(_labelled(module.blocks.get("variable", [])))
        body = declared.get(name, {})
        if body.get("sensitive") is True:
            return None  # never read: masked as a plan's sensitive values are
        if name in module.inputs:
            if module.caller is None:
                return module.inputs[name]
            parent, each = module.caller
            return self.value(module.inputs[name], parent, each)
        if "default" in body:
            return self.value(body["default"], module, None)
        return Unknown()

    def _local(self, module: _Module, name: str) -> Any:
        for block in module.blocks.get("locals", []):
            if name in block:
                return self.value(block[name], module, None)
        return Unknown()

    def _output(self, child: _Module, output: str) -> Any:
        body = dict(_labelled(child.blocks.get("output", []))).get(output)
        return Unknown() if body is None else self.value(body.get("value"), child, None)

    def _module_call(self, module: _Module, call: str) -> Any:
        """``module.CALL``: its instance (one, or a map/list of them by for_each/count key)."""
        instances = module.children.get(call)
        if not instances:
            return Unknown()
        if list(instances) == [None]:
            return _ModuleInstance(instances[None])
        if all(isinstance(k, int) for k in instances):
            return [_ModuleInstance(c) for c in instances.values()]
        return {k: _ModuleInstance(c) for k, c in instances.items()}

    def _resource(self, module: _Module, type_: str, name: str) -> Any:
        """``TYPE.NAME``: the instance (unknown, naming it), or a map/list of instances."""
        instances = self.instances(module, type_, name)
        if instances is None:
            return Unknown()
        if len(instances) == 1 and instances[0][2] is None:
            address, body, _ = instances[0]
            return Unknown((Target(address, None),), _Instance(module, body, None))
        keyed = {
            each[0]: Unknown((Target(address, None),), _Instance(module, body, each))
            for address, body, each in instances
        }
        if all(isinstance(k, int) for k in keyed):
            return list(keyed.values())
        return keyed

    def _references(self, expression: str, module: _Module, each: Any) -> tuple[Target, ...]:
        """The resource instances ``expression`` (not evaluated) references."""
        found: list[Target] = []
        for matched in REFERENCE.finditer(expression):
            if expression[: matched.start()].endswith("data."):
                continue
            instances = self.instances(module, matched["type"], matched["name"]) or []
            key = matched["key"]
            if key is not None:
                index = self.value(f"${{{key.strip()}}}", module, each)
                wanted = f"[{index}]" if isinstance(index, int) else f'["{index}"]'
                instances = [i for i in instances if i[0].endswith(wanted)]
            found += [Target(address, matched["attribute"]) for address, _, _ in instances]
        return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class _ModuleInstance:
    """What ``module.CALL`` (or one of its instances) evaluates to: its outputs, on demand."""

    module: _Module


@functools.lru_cache(maxsize=4096)
def _expression_tree(source: str) -> Tree[Token] | None:
    """The parse tree of one expression (python-hcl2's grammar), or None if it is not one."""
    try:
        start = hcl2_parser().parse(f"value = {source}\n")
    except (LarkError, ValueError):
        return None
    attribute = _trees(_trees(start)[0])[0]
    return _trees(attribute)[-1]


def _trees(node: Tree[Token]) -> list[Tree[Token]]:
    """The child rules of ``node``, layout (new lines, comments) aside."""
    return [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


def _name(node: Tree[Token]) -> str:
    """The text of an identifier (or keyword) rule."""
    return str(node.children[0])


def _unknowns(value: Any) -> list[Unknown]:
    """Every unknown within ``value``."""
    if isinstance(value, Unknown):
        return [value]
    if isinstance(value, list):
        return [u for v in value for u in _unknowns(v)]
    if isinstance(value, dict):
        return [u for v in value.values() for u in _unknowns(v)]
    return []


def _joined(*values: Any) -> Unknown:
    """An unknown naming every resource the unknowns within ``values`` name."""
    return Unknown(tuple(dict.fromkeys(t for u in _unknowns(list(values)) for t in u.targets)))


@dataclass
class _Scope:
    """Where an expression is evaluated: its module instance, ``each``/``count``, and the
    names a for expression binds."""

    evaluator: _Evaluator
    module: _Module
    each: Any
    bound: dict[str, Any]

    def evaluate(self, node: Tree[Token]) -> Any:
        rule = str(node.data)
        children = _trees(node)
        if rule == "expr_term" and len(children) == 1:
            return self.evaluate(children[0])
        if rule in ("int_lit", "float_lit"):
            text = str(node.children[0])
            return int(text) if rule == "int_lit" else float(text)
        if rule == "literal_value":
            return {"true": True, "false": False}.get(str(node.children[0]))
        if rule == "string":
            return self._string(node)
        if rule in ("heredoc_template", "heredoc_template_trim"):
            return self._heredoc(str(node.children[0]), trim=rule.endswith("trim"))
        if rule == "tuple":
            return [self.evaluate(c) for c in children]
        if rule == "object":
            elements = [self._element(c) for c in children]
            if any(not isinstance(k, str | int | float | bool) for k, _ in elements):
                return _joined(*(k for k, _ in elements), *(v for _, v in elements))
            return {_shown(k): v for k, v in elements}
        if rule in TRAVERSALS or rule == "identifier":
            return self._traversal(node)
        if rule == "function_call":
            return self._call(node)
        if rule == "conditional":
            condition, *branches = (self.evaluate(c) for c in children)
            if isinstance(condition, bool):
                return branches[0] if condition else branches[1]
            return _joined(condition, *branches)
        if rule == "binary_op":
            operator = str(_trees(children[1])[0].children[0])
            return _operation(
                operator, self.evaluate(children[0]), self.evaluate(_trees(children[1])[1])
            )
        if rule == "unary_op":
            operand = self.evaluate(children[0])
            if str(node.children[0]) == "!" and isinstance(operand, bool):
                return not operand
            if str(node.children[0]) == "-" and isinstance(operand, int | float):
                return -operand
            return _joined(operand)
        if rule in ("for_tuple_expr", "for_object_expr"):
            grouped = any(isinstance(t, Token) and t.type == "ELLIPSIS" for t in node.children)
            return self._for(rule, children, grouped)
        return Unknown()  # a template directive, a provider function, a rule not read

    def _string(self, node: Tree[Token]) -> Any:
        parts: list[Any] = []
        for part in _trees(node):
            inner = part.children[0]
            if isinstance(inner, Tree):
                interpolation = _trees(inner)
                parts.append(
                    self.evaluate(interpolation[0]) if inner.data == "interpolation" else Unknown()
                )
            elif inner.type in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
                parts.append(str(inner)[1:])
            else:
                parts.append(_unescaped(str(inner)))
        if len(parts) == 1 and not isinstance(_trees(node)[0].children[0], Token):
            return parts[0]  # "${x}" is x itself, not its text
        if _unknowns(parts):
            return _joined(*parts)
        if any(p is None for p in parts):  # a sensitive value: never interpolated
            return None
        return "".join(_shown(p) for p in parts)

    def _heredoc(self, text: str, trim: bool) -> Any:
        lines = text.split("\n")[1:-2]
        if trim:
            indent = min((len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()), default=0)
            lines = [ln[indent:] for ln in lines]
        body = "\n".join(lines) + "\n"
        if "${" in body or "%{" in body:  # a template: evaluated as a quoted string would be
            quoted = json.dumps(body)
            tree = _expression_tree(quoted)
            return Unknown() if tree is None else self.evaluate(tree)
        return body

    def _element(self, node: Tree[Token]) -> tuple[Any, Any]:
        key_node, value_node = _trees(node)
        key = _trees(key_node)[0]
        inner = _trees(key)[0] if key.data == "expr_term" and len(_trees(key)) == 1 else key
        name = _name(inner) if inner.data in ("identifier", "keyword") else self.evaluate(inner)
        return name, self.evaluate(value_node)

    def _traversal(self, node: Tree[Token]) -> Any:
        """A reference (``var.x``, ``module.m.out``, ``TYPE.NAME["k"].attr``, a bound name)
        followed by attribute, index and splat steps."""
        steps: list[Tree[Token]] = []
        while node.data in TRAVERSALS:
            term, step = _trees(node)
            steps.insert(0, step)
            node = _trees(term)[0] if len(_trees(term)) == 1 else term
        if node.data != "identifier":
            return self._steps(self.evaluate(node), steps)
        root = _name(node)
        names = [_name(_trees(s)[0]) if s.data == "get_attr" else None for s in steps]
        if root in self.bound:
            return self._steps(self.bound[root], steps)
        if root in ("var", "local") and names and names[0] is not None:
            found = (
                self.evaluator._variable(self.module, names[0])
                if root == "var"
                else self.evaluator._local(self.module, names[0])
            )
            return self._steps(found, steps[1:])
        if root in ("each", "count") and names and self.each is not None:
            key = names[0] in ("key", "index")
            return self._steps(self.each[0] if key else self.each[1], steps[1:])
        if root == "module" and names and names[0] is not None:
            return self._steps(self.evaluator._module_call(self.module, names[0]), steps[1:])
        if "_" in root and names and names[0] is not None:  # TYPE.NAME
            return self._steps(self.evaluator._resource(self.module, root, names[0]), steps[1:])
        return Unknown()  # data.*, path.*, terraform.*, self.*: known only to a plan

    def _steps(self, value: Any, steps: list[Tree[Token]]) -> Any:
        for index, step in enumerate(steps):
            if step.data in ("attr_splat", "full_splat"):
                rest = _trees(step) + steps[index + 1 :]
                if isinstance(value, list):
                    return [self._steps(v, rest) for v in value]
                return value if isinstance(value, Unknown) else self._steps([value], rest)
            value = self._step(value, step)
        return value

    def _step(self, value: Any, step: Tree[Token]) -> Any:
        if step.data == "get_attr":
            key: Any = _name(_trees(step)[0])
        elif step.data == "short_index":
            key = int(str(step.children[1]))
        else:
            key = self.evaluate(_trees(step)[0])
        if isinstance(value, _ModuleInstance):
            return self.evaluator._output(value.module, str(key))
        if isinstance(value, Unknown):
            held = value.instance
            if (
                step.data == "get_attr"
                and held is not None
                and key in held.body
                and key not in META
            ):
                return self.evaluator.value(held.body[key], held.module, held.each)
            if step.data == "get_attr" and any(t.attribute is None for t in value.targets):
                return Unknown(tuple(Target(t.address, t.attribute or key) for t in value.targets))
            return value
        if isinstance(key, Unknown):
            return _joined(value, key)
        if isinstance(value, dict) and isinstance(key, str | int) and str(key) in value:
            return value[str(key)]
        if isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value):
            return value[key]
        return Unknown()

    def _call(self, node: Tree[Token]) -> Any:
        name, *rest = _trees(node)
        arguments = next((r for r in rest if r.data == "arguments"), None)
        values = [self.evaluate(a) for a in _trees(arguments)] if arguments else []
        function = FUNCTIONS.get(_name(name)) if len(rest) <= 1 else None
        spread = arguments is not None and any(
            isinstance(t, Token) and t.type == "ELLIPSIS" for t in arguments.children
        )
        if function is None or spread or _unknowns(values):
            return _joined(*values)
        if any(v is None for v in values) and _name(name) not in ("merge", "concat", "lookup"):
            return None  # a sensitive value: never read into another
        try:
            return function(*values)
        except (AttributeError, TypeError, ValueError, KeyError, IndexError):
            return Unknown()  # an error tofu would report; not judged here

    def _for(self, rule: str, children: list[Tree[Token]], grouped: bool) -> Any:
        intro, *body = children
        *names, collection_node = _trees(intro)
        collection = self.evaluate(collection_node)
        condition = next((c for c in body if c.data == "for_cond"), None)
        body = [c for c in body if c.data != "for_cond"]
        if isinstance(collection, list):
            items: list[tuple[Any, Any]] = list(enumerate(collection))
        elif isinstance(collection, dict):
            items = list(collection.items())
        else:
            return _joined(collection)
        results: list[Any] = []
        for key, item in items:
            bound = {_name(n): v for n, v in zip(names, [key, item][-len(names) :], strict=True)}
            scope = _Scope(self.evaluator, self.module, self.each, {**self.bound, **bound})
            if condition is not None:
                kept = scope.evaluate(_trees(condition)[0])
                if not isinstance(kept, bool):
                    return _joined(kept, collection)
                if not kept:
                    continue
            results.append([scope.evaluate(b) for b in body])
        if rule == "for_tuple_expr":
            return [r[0] for r in results]
        if any(not isinstance(r[0], str | int | float | bool) for r in results):
            return _joined(*(r[0] for r in results), collection)
        if not grouped:
            return {_shown(r[0]): r[1] for r in results}
        groups: dict[str, list[Any]] = {}
        for key, value in results:
            groups.setdefault(_shown(key), []).append(value)
        return groups


TRAVERSALS = frozenset(
    {"get_attr_expr_term", "index_expr_term", "attr_splat_expr_term", "full_splat_expr_term"}
)


def _operation(operator: str, left: Any, right: Any) -> Any:
    """A binary operation on known values; on an unknown one, unknown."""
    if _unknowns([left, right]):
        return _joined(left, right)
    if operator == "==":
        return bool(left == right)
    if operator == "!=":
        return bool(left != right)
    if operator in ("&&", "||") and isinstance(left, bool) and isinstance(right, bool):
        return (left and right) if operator == "&&" else (left or right)
    numbers = isinstance(left, int | float) and isinstance(right, int | float)
    if numbers and operator in ARITHMETIC:
        try:
            return ARITHMETIC[operator](left, right)
        except ZeroDivisionError:
            return Unknown()
    return Unknown()


ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


ESCAPE = re.compile(r"\\(?:u(?P<u>[0-9A-Fa-f]{4})|U(?P<U>[0-9A-Fa-f]{8})|(?P<char>.))")
ESCAPED = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def _unescaped(text: str) -> str:
    """A quoted string's characters, its escapes (\\n, \\", \\\\, \\uNNNN, \\UNNNNNNNN) read."""

    def character(matched: re.Match[str]) -> str:
        code = matched["u"] or matched["U"]
        if code:
            return chr(int(code, 16))
        return ESCAPED.get(matched["char"], matched[0])

    return ESCAPE.sub(character, text)


def _cidrsubnet(prefix: str, newbits: int, netnum: int) -> str:
    network = ipaddress.ip_network(prefix, strict=False)
    length = network.prefixlen + newbits
    if length > network.max_prefixlen or not 0 <= netnum < 2**newbits:
        raise ValueError(f"cidrsubnet({prefix}, {newbits}, {netnum}) is out of range")
    first = int(network.network_address) + (netnum << (network.max_prefixlen - length))
    return str(ipaddress.ip_network((first, length)))


FORMAT_VERB = re.compile(r"%(?P<flags>[-+ #0]*)(?P<width>\d*)(?P<precision>\.\d+)?(?P<verb>.?)")


def _format(template: str, *values: Any) -> str:
    """format() for the verbs configurations use (%s, %d, %v, %q, %%, with a width); any other
    is refused (ValueError: the call stays unknown), never printed wrong."""
    given = iter(values)

    def verb(matched: re.Match[str]) -> str:
        flags, width, kind = matched["flags"], matched["width"], matched["verb"]
        if kind == "%" and not (flags or width or matched["precision"]):
            return "%"
        if kind not in ("s", "d", "v", "q") or matched["precision"] or flags not in ("", "0", "-"):
            raise ValueError(f"format verb {matched[0]!r} is not evaluated statically")
        value = next(given, given)
        if value is given:
            raise ValueError(f"format() has no value for {matched[0]!r}")
        if kind == "d" and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f"%d of {value!r}")
        text = json.dumps(value) if kind == "q" else _shown(value)
        if flags == "-":
            return text.ljust(int(width or 0))
        return text.rjust(int(width or 0), "0" if flags == "0" and kind == "d" else " ")

    return FORMAT_VERB.sub(verb, template)


def _lookup(mapping: dict[str, Any], key: str, *default: Any) -> Any:
    return mapping[key] if key in mapping or not default else default[0]


def _jsonencode(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# The pure functions evaluated statically; any other call is unknown.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "merge": lambda *maps: {k: v for m in maps if m is not None for k, v in m.items()},
    "concat": lambda *lists: [v for items in lists if items is not None for v in items],
    "format": _format,
    "cidrsubnet": _cidrsubnet,
    "lookup": _lookup,
    "tomap": lambda value: dict(value),
    "toset": lambda value: list(dict.fromkeys(value)),  # in order: for_each keys are alike
    "tolist": lambda value: list(value),
    "jsonencode": _jsonencode,
    "join": lambda separator, items: separator.join(_shown(i) for i in items),
    "lower": lambda text: text.lower(),
    "upper": lambda text: text.upper(),
    "keys": lambda mapping: sorted(mapping),
    "values": lambda mapping: [mapping[k] for k in sorted(mapping)],
    "length": len,
}


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
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
