"""Read a runcard: safe YAML, a map from key paths to lines, then the schema.

The YAML is composed once into a node tree (which knows the line of every key and list item)
and constructed with PyYAML's safe constructor, so tags that would build Python objects
(``!!python/object/apply:...``) are refused, never run. Reading is bounded: at most
:data:`MAX_BYTES` of text, no alias that contains itself, and at most :data:`MAX_NODES` values
once every alias is expanded (a "billion laughs" document is refused before anything expands
it). Every failure is a :class:`~n3fit_gpu.errors.RunCardError` whose message is one line
naming the file and line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from n3fit_gpu.config.issues import RunCardIssue, RunCardNotFoundError, RunCardValidationError
from n3fit_gpu.config.messages import dotted, issues_from, show
from n3fit_gpu.config.schema import RunCard
from n3fit_gpu.errors import RunCardError

KeyPath = tuple[str | int, ...]
MAX_BYTES = 1_000_000  # NNPDF's largest runcards are ~20 kB
MAX_NODES = 100_000  # values after alias expansion
_EXPECTED = "a runcard is a YAML mapping of keys such as dataset_inputs:, theory:, parameters:"


def load_runcard(path: str | Path) -> RunCard:
    """Read and validate the runcard at ``path`` (see :func:`load_located_runcard`)."""
    return load_located_runcard(path)[0]


def load_located_runcard(path: str | Path) -> tuple[RunCard, Callable[[KeyPath], int]]:
    """Read and validate the runcard at ``path``; also return ``line_of(key_path)``, the line
    of a key (or of its closest ancestor written in the file), for later messages.

    Raises
    ------
    RunCardNotFoundError
        The file does not exist.
    RunCardError
        It cannot be read, is not YAML, or breaks the schema (then a
        :class:`RunCardValidationError` listing every issue).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunCardNotFoundError(f"{path}: no such runcard file; check the path") from None
    except IsADirectoryError:
        raise RunCardError(f"{path} is a directory; give the runcard file inside it") from None
    except UnicodeDecodeError as exc:
        raise RunCardError(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8") from None
    except OSError as exc:
        raise RunCardError(f"{path}: cannot read the runcard ({exc.strerror})") from None
    return _parse(text, str(path))


def parse_runcard(text: str, filename: str) -> RunCard:
    """Validate runcard ``text``; messages name ``filename`` and the line of each problem."""
    return _parse(text, filename)[0]


def _parse(text: str, filename: str) -> tuple[RunCard, Callable[[KeyPath], int]]:
    if len(text) > MAX_BYTES:
        raise RunCardError(
            f"{filename}: {len(text):,} characters; a runcard is at most {MAX_BYTES:,} "
            "(is this the right file?)"
        )
    data, lines = _read_yaml(text, filename)
    if not isinstance(data, dict):
        raise RunCardError(f"{filename}:{lines[()]} {_EXPECTED}; got {_kind(data)}")
    line_of = functools.partial(_line_of, lines)
    try:
        return RunCard.model_validate(data), line_of
    except ValidationError as exc:
        raise RunCardValidationError(issues_from(exc, RunCard, filename, line_of)) from None


def _read_yaml(text: str, filename: str) -> tuple[Any, dict[KeyPath, int]]:
    """The document's data and the line of each key path; refuse duplicated keys."""
    with _yaml_errors(filename):
        loader = yaml.SafeLoader(text)  # reading starts here: NUL and other bad characters
    try:
        with _yaml_errors(filename):
            node = loader.get_single_node()
        # map lines before constructing: construction rewrites merge keys (<<) in the tree
        lines, duplicates = _line_map(node, filename) if node else ({(): 1}, [])
        with _yaml_errors(filename):
            data = None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()
    if data is None:
        raise RunCardError(f"{filename}: the file is empty; {_EXPECTED}")
    if duplicates:
        raise RunCardValidationError(duplicates)
    return data, lines


@contextmanager
def _yaml_errors(filename: str) -> Iterator[None]:
    """Turn PyYAML's errors into one-line RunCardErrors naming file, line and column."""
    try:
        yield
    except yaml.MarkedYAMLError as exc:
        raise RunCardError(_yaml_message(exc, filename)) from None
    except yaml.reader.ReaderError as exc:
        raise RunCardError(
            f"{filename}: character U+{_code_point(exc.character):04X} at position "
            f"{exc.position} is not allowed in YAML; remove it (a runcard is plain text)"
        ) from None
    except yaml.YAMLError as exc:
        raise RunCardError(f"{filename}: unreadable YAML: {' '.join(str(exc).split())}") from None


def _code_point(character: str | int) -> int:
    return character if isinstance(character, int) else ord(character)


def _yaml_message(exc: yaml.MarkedYAMLError, filename: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
    problem = " ".join(str(exc.problem or exc.context or "").split())
    if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in problem:
        return f"{where} refused YAML tag: {problem} (runcards are plain data; remove the tag)"
    context = f" {exc.context}" if exc.context and exc.problem else ""
    return f"{where} unreadable YAML: {problem}{context}"


def _kind(data: Any) -> str:
    if isinstance(data, list):
        return "a list"
    return f"the value {show(data)}"


def _expanded_size(root: yaml.Node, filename: str) -> int:
    """Values in the document once every alias is expanded (shared nodes counted each time
    they are used, computed once each); a node that contains itself is refused."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        children = _children(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = min(1 + sum(sizes[id(c)] for c in children), MAX_NODES + 1)
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            line = node.start_mark.line + 1
            raise RunCardError(
                f"{filename}:{line} a YAML alias refers to a block that contains it (an "
                "endless document); write the values out"
            )
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _line_map(root: yaml.Node, filename: str) -> tuple[dict[KeyPath, int], list[RunCardIssue]]:
    """1-based line of every key and list item, by key path; and any duplicated keys.

    Each node is visited once (an alias's target is mapped where it is written), after
    :func:`_expanded_size` has refused self-containing and oversized documents.
    """
    size = _expanded_size(root, filename)
    if size > MAX_NODES:
        raise RunCardError(
            f"{filename}: more than {MAX_NODES:,} values once its YAML aliases are expanded "
            "(an alias bomb?); a runcard needs far fewer, write them out"
        )
    lines: dict[KeyPath, int] = {(): root.start_mark.line + 1}
    duplicates: list[RunCardIssue] = []
    stack: list[tuple[KeyPath, yaml.Node]] = [((), root)]
    seen: set[int] = set()
    while stack:
        prefix, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[prefix + (i,)] = item.start_mark.line + 1
                stack.append((prefix + (i,), item))
        elif isinstance(node, yaml.MappingNode):
            for key_node, value in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
                    continue
                path = prefix + (key_node.value,)
                line = key_node.start_mark.line + 1
                if path in lines:
                    message = f"key given twice (first at line {lines[path]}); keep one"
                    duplicates.append(RunCardIssue(filename, line, dotted(path), message))
                lines.setdefault(path, line)
                stack.append((path, value))
    return lines, duplicates


def _line_of(lines: dict[KeyPath, int], path: KeyPath) -> int:
    """Line of ``path``, or of its closest ancestor written in the file (for missing keys)."""
    while path not in lines:
        path = path[:-1]
    return lines[path]
