"""Reading the suite's files (spec, inputs, waivers, Compose, nginx.conf) with errors a user can
act on: one line naming the option or file:line, never a traceback, never a hang.

Only regular files are read (a FIFO would block and ``/dev/zero`` never ends), and only so much
of them. YAML is read strictly: UTF-8 only, a key given twice is an error (YAML says keys are
unique; PyYAML would silently keep the last), and nesting, alias expansion and integer sizes are
bounded so that no document can exhaust the stack, the memory or the time of a run.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from conformance.errors import UsageError

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 100_000  # values in the document once every alias is expanded
MAX_INT_DIGITS = 100
MAX_PROBLEMS = 5  # validation problems listed in one message
_MERGE_TAG = "tag:yaml.org,2002:merge"
_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def require_regular_file(path: Path, option: str, max_bytes: int = MAX_BYTES) -> None:
    """Refuse anything but a regular file of at most ``max_bytes``, by its metadata alone:
    opening a FIFO for reading would block until someone writes to it."""
    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise UsageError(f"{option} {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _FILE_KINDS if test(info.st_mode)), "not a file")
        raise UsageError(f"{option} {path}: {kind}, not a regular file")
    if info.st_size > max_bytes:
        raise UsageError(f"{option} {path}: {info.st_size} bytes; at most {max_bytes} are read")


def read_text(path: Path, option: str, max_bytes: int = MAX_BYTES) -> str:
    """The UTF-8 text of the regular file ``path``; anything else is one UsageError."""
    require_regular_file(path, option, max_bytes)
    try:
        # O_NONBLOCK: should the file be swapped for a FIFO after the check, opening returns.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise UsageError(f"{option} {path}: not a regular file")
            data = file.read(max_bytes + 1)
    except OSError as exc:
        raise UsageError(f"{option} {path}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise UsageError(f"{option} {path}: larger than {max_bytes} bytes")
    return _decode(data, path, option)


def _decode(data: bytes, path: Path, option: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(data) > 1 and b"\x00" in data[:2]):
        raise UsageError(f"{option} {path}: UTF-16 text; save it as UTF-8")
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise UsageError(f"{path}:{line}: a NUL byte: a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError(
            f"{path}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x}); save it as UTF-8"
        ) from None


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file and the line of each key and item, to point at a bad value."""

    path: Path
    data: Any
    lines: Mapping[tuple[str, ...], int]

    def where(self, loc: Sequence[object]) -> str:
        """``file:line`` of the deepest part of ``loc`` the file spells out (else the file);
        parts the file does not spell (a model's own wrapping, like ``value``) are passed over."""
        found: tuple[str, ...] = ()
        for part in loc:
            if (*found, str(part)) in self.lines:
                found = (*found, str(part))
        return f"{self.path}:{self.lines[found]}" if found else str(self.path)

    def invalid(self, what: str, exc: ValidationError) -> UsageError:
        """One line for a model's validation errors: the first one's file:line, then each
        problem as ``field.path: message``."""
        errors = exc.errors(include_url=False)
        problems = [problem(err) for err in errors[:MAX_PROBLEMS]]
        if len(errors) > MAX_PROBLEMS:
            problems.append(f"and {len(errors) - MAX_PROBLEMS} more")
        return UsageError(f"{self.where(errors[0]['loc'])}: {what}: {'; '.join(problems)}")


def problem(error: ErrorDetails, within: int = 0) -> str:
    """One pydantic error as ``field.path: message``, the path without its first ``within``
    parts (those the message has already named)."""
    loc = [part for part in error["loc"][within:] if part != "[key]"]
    message = error["msg"].removeprefix("Value error, ")
    return f"{dotted(loc)}: {message}" if loc else message


def shown(value: object, limit: int = 60) -> str:
    """``value`` quoted for a message, cut short if long."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def dotted(loc: Sequence[object]) -> str:
    """A field path as ``a.b.0.c``; a part that would not print plainly is shown quoted."""
    return ".".join(str(p) if str(p).isprintable() else repr(str(p)) for p in loc)


def load_yaml(path: Path, option: str) -> YamlDocument:
    """The parsed YAML of ``path``; any problem is one UsageError naming ``option`` and the file
    (and the line, for a problem inside it)."""
    text = read_text(path, option)
    loader = None
    try:
        loader = _StrictLoader(text)
        node = loader.get_single_node()
        lines = _lines(node) if node is not None else {}
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        reason = " ".join(filter(None, (exc.context, exc.problem))) or "unreadable"
        raise UsageError(f"{where}: not valid YAML: {reason}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise UsageError(
            f"{path}:{line}: not valid YAML: character U+{exc.character:04X} is not allowed"
        ) from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{option} {path}: not valid YAML: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()
    return YamlDocument(path, data, lines)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with unique keys, bounded nesting, and every constructor failure (an integer
    of 5,000 digits, the date 2024-02-30) reported as a YAML error at its node."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_int(self, node: ScalarNode) -> int:
        digits = sum(c.isdigit() for c in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise ConstructorError(
                None,
                None,
                f"an integer of {digits} digits (at most {MAX_INT_DIGITS})",
                node.start_mark,
            )
        return super().construct_yaml_int(node)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # any constructor failure is a bad value at this node
            raise ConstructorError(None, None, _one_line(exc), node.start_mark) from None

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue  # merged keys may be overridden: that is what merging is for
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:
                continue  # an unhashable key: the base class reports it
            if first is not key_node:
                raise ConstructorError(
                    None,
                    None,
                    f"duplicate key {shown(key)} (first at line {first.start_mark.line + 1})",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_int)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _lines(root: Node) -> dict[tuple[str, ...], int]:
    """The line of every key and item by its path, walking aliases as their expansion; a
    recursive alias, or one that expands beyond :data:`MAX_NODES`, is refused."""
    lines: dict[tuple[str, ...], int] = {}
    budget = [MAX_NODES]
    active: set[int] = set()

    def walk(node: Node, path: tuple[str, ...]) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise ConstructorError(
                None,
                None,
                f"more than {MAX_NODES} values once aliases are expanded",
                node.start_mark,
            )
        if len(path) > MAX_DEPTH:
            raise ConstructorError(
                None,
                None,
                f"nested deeper than {MAX_DEPTH} levels through aliases",
                node.start_mark,
            )
        if id(node) in active:
            raise ConstructorError(None, None, "an alias refers to itself", node.start_mark)
        active.add(id(node))
        for key, line, child in _children(node):
            lines.setdefault((*path, key), line)
            walk(child, (*path, key))
        active.discard(id(node))

    walk(root, ())
    return lines


def _children(node: Node, merging: frozenset[int] = frozenset()) -> Iterator[tuple[str, int, Node]]:
    """The keys or indexes of ``node`` with their lines and values; a mapping's own keys come
    before those it merges (``<<: *defaults``), which they override."""
    if isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            yield str(index), item.start_mark.line + 1, item
    elif isinstance(node, MappingNode):
        merges: list[Node] = []
        for key_node, value in node.value:
            if key_node.tag == _MERGE_TAG:
                merges += value.value if isinstance(value, SequenceNode) else [value]
            elif isinstance(key_node, ScalarNode):
                yield str(key_node.value), key_node.start_mark.line + 1, value
        for source in merges:
            if id(source) in merging or source is node:
                raise ConstructorError(None, None, "an alias refers to itself", source.start_mark)
            yield from _children(source, merging | {id(node)})
