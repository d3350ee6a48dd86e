"""The spec file as the document check sees it: a value by its path, shown with file and line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from conformance.spec import Documented, EnvironmentSpec, PhaseSpec

ROOT = Path(__file__).resolve().parents[3]
Keys = tuple[str | int, ...]
SELECTOR = re.compile(r"^(?P<name>[\w-]+)\[(?P<field>\w+)=(?P<value>[^\]]*)\]$")


class SpecMissing(Exception):
    """The spec has no value at this path."""


class SpecFile:
    """A loaded spec and its YAML source, so a value can be shown with its file and line."""

    def __init__(
        self, spec: PhaseSpec, path: Path, environment: str, root: yaml.Node | None = None
    ) -> None:
        self.spec = spec
        self.path = path
        self.environment = environment
        self._root = root or yaml.compose(path.read_text(encoding="utf-8"))

    def bound(self, environment: str) -> SpecFile:
        """The same file, its paths read in ``environment`` (an anchor naming its environment)."""
        if environment == self.environment:
            return self
        return SpecFile(self.spec, self.path, environment, self._root)

    @property
    def environments(self) -> list[str]:
        """The environments the phase documents (from Phase 3: staging and production)."""
        return list(self.spec.environments)

    def label(self, subject: str) -> str:
        """A subject as reported: named with its environment where the phase has several."""
        return f"{subject} [{self.environment}]" if len(self.environments) > 1 else subject

    @property
    def env(self) -> EnvironmentSpec:
        return self.spec.environment(self.environment)

    def env_path(self, *keys: str | int) -> Keys:
        return ("environments", self.environment, *keys)

    def expand(self, path: str) -> list[Keys]:
        """The keys of every value a declared path names: ``/name`` from the file's top, else in
        the environment; ``*`` is every key of a mapping, ``items[field=value]`` one list item."""
        start: Keys = () if path.startswith("/") else self.env_path()
        found: list[Keys] = [start]
        for part in re.split(r"\.(?![^\[]*\])", path.lstrip("/")):  # a selector may hold dots
            found = [(*keys, *step) for keys in found for step in self._steps(keys, part)]
        return found

    def _steps(self, keys: Keys, part: str) -> list[Keys]:
        if part == "*":
            node = self._node(keys)
            return [(key,) for key in node] if isinstance(node, dict) else []
        selector = SELECTOR.match(part)
        if selector is None:
            return [(part,)]
        items = self._node((*keys, selector["name"]))
        for index, item in enumerate(items if isinstance(items, list) else []):
            value = getattr(item, selector["field"], None)
            if str(value.value if isinstance(value, Documented) else value) == selector["value"]:
                return [(selector["name"], index)]
        raise SpecMissing(f"{self.where((*keys, selector['name']))} (no item {part})")

    def _node(self, keys: Keys) -> Any:
        node: Any = self.spec
        for key in keys:
            if isinstance(node, Documented):
                node = node.value
            if isinstance(node, BaseModel) and isinstance(key, str):
                node = getattr(node, key, None)
            elif isinstance(node, dict):
                node = node.get(key)
            elif isinstance(node, list) and isinstance(key, int) and key < len(node):
                node = node[key]
            else:
                node = None
            if node is None:
                raise SpecMissing(self.where(keys))
        return node

    def value(self, keys: Keys) -> Any:
        node = self._node(keys)
        return node.value if isinstance(node, Documented) else node

    def where(self, keys: Keys) -> str:
        dotted = ".".join(str(k) for k in keys)
        line = self._line(keys)
        return f"{display(self.path)}{f':{line}' if line else ''} {dotted}"

    def _line(self, keys: Keys) -> int | None:
        node: yaml.Node | None = self._root
        line = None
        for key in keys:
            if isinstance(node, yaml.MappingNode):
                match = [(k, v) for k, v in node.value if k.value == str(key)]
                if not match:
                    return line
                line = match[0][0].start_mark.line + 1
                node = match[0][1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
                if key >= len(node.value):
                    return line
                node = node.value[key]
                line = node.start_mark.line + 1
            else:
                return line
        return line


def display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
