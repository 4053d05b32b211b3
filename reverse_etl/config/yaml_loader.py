"""YAML loading that remembers where every key came from.

PyYAML's composer gives us nodes with line marks; we build plain Python values from them and
keep a side table ``key path -> line`` so that any later error (pydantic, cross-field rules,
env_var resolution) can point at the exact line. Duplicate keys, which PyYAML silently
overwrites, are errors here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reverse_etl import project_files
from reverse_etl.errors import ConfigError, Problem, unreadable_text

KeyPath = tuple[str | int, ...]

# How many values a config file may expand to. Aliases (*anchor) are built again at each use,
# so a few hundred bytes of nested aliases can stand for billions of values (a "billion
# laughs" file from a pull request); a real retl config has a few hundred.
MAX_EXPANDED_NODES = 100_000


@dataclass(frozen=True)
class LoadedYaml:
    """A parsed YAML document plus the line (1-based) of every key path in it."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, key_path: KeyPath) -> int | None:
        """The line of ``key_path``, or of its nearest ancestor that has one."""
        probe = tuple(key_path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return None


def format_key_path(key_path: KeyPath) -> str:
    out = ""
    for part in key_path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def load_yaml(path: Path, *, required: bool = True) -> LoadedYaml | None:
    """Read and parse ``path``. Missing optional files give ``None``."""
    if not path.exists():
        if required:
            raise ConfigError(f"{path.name} not found", file=path, hint=f"create {path}")
        return None
    try:
        text = project_files.read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        message, line, hint = unreadable_text(exc, f"cannot read {path.name}")
        raise ConfigError(message, file=path, line=line, hint=hint) from None
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path) -> LoadedYaml:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            # Never fewer than the text's own values: a big file without aliases (a dbt
            # project's models/schema.yml) is no bomb; aliases still expand no further.
            _check_expansion(node, path, max(MAX_EXPANDED_NODES, len(text)))
    except RecursionError:
        raise ConfigError(
            "YAML nested too deeply", file=path, hint="a retl config needs a few levels"
        ) from None
    except yaml.MarkedYAMLError as exc:
        line, what, hint = _syntax_problem(exc, text)
        raise ConfigError(f"YAML syntax error: {what}", file=path, line=line, hint=hint) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML error: {exc}", file=path) from None
    if node is None:
        return LoadedYaml(path, None, {})
    builder = _Builder(path)
    data = builder.build(node, ())
    if builder.problems:
        raise ConfigError.from_problems(builder.problems)
    return LoadedYaml(path, data, builder.lines)


# PyYAML notices an unclosed bracket or quote, or a key without its ':', only lines later;
# its context mark is the line to fix: (context, what was left open, how to fix it).
_OPENED_ON: tuple[tuple[str, str, str], ...] = (
    ("while parsing a flow sequence", "a '[' is not closed", "close the '[' on that line"),
    ("while parsing a flow mapping", "a '{' is not closed", "close the '{' on that line"),
    ("while scanning a quoted scalar", "a quote is not closed", "close the quote on that line"),
    ("while scanning a simple key", "a key has no ':'", "write 'key: value' on that line"),
)
_SYNTAX_HINT = "check indentation and quoting on that line"
_FLOW_BRACKETS = {"while parsing a flow sequence": "[", "while parsing a flow mapping": "{"}


def _closed_after_a_missing_comma(what: str, problem: yaml.Mark | None, opened: int) -> bool:
    """Whether PyYAML's "expected ',' or ']'" is two items without a ',' between them on the
    bracket's own line (not a bracket left open: that is noticed on a later line, at the end
    of the file or at the other kind of closing bracket)."""
    return (
        problem is not None
        and problem.line == opened
        and what.startswith("expected ',' or ")
        and not what.endswith(("'<stream end>'", "'}'", "']'"))  # closed by the other bracket
    )


_MISALIGNED = "expected <block end>, but found '<block mapping start>'"


def _line_above(text: str, line: int) -> int | None:
    """The nearest line (0-based) before ``line`` holding more than a comment."""
    lines = text.splitlines()
    for number in range(min(line, len(lines)) - 1, -1, -1):
        stripped = lines[number].strip()
        if stripped and not stripped.startswith("#"):
            return number
    return None


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str) -> tuple[int | None, str, str]:
    """The line to fix, PyYAML's complaint and the hint."""
    what = exc.problem or str(exc)
    problem, context = exc.problem_mark, exc.context_mark
    if problem is not None and "'\\t'" in what:
        return problem.line + 1, what, "indent with spaces: YAML does not allow tabs there"
    if problem is not None and what == _MISALIGNED:
        above = _line_above(text, problem.line)
        if above is not None:
            what = f"indentation: this line and line {above + 1} above it do not line up"
            return problem.line + 1, what, "indent sibling keys by the same number of spaces"
    for words, opened, hint in _OPENED_ON:
        if context is not None and exc.context == words:
            bracket = _FLOW_BRACKETS.get(words)
            if bracket and _closed_after_a_missing_comma(what, problem, context.line):
                what = f"a ',' is missing between the items of the '{bracket}' ({what})"
                return context.line + 1, what, f"separate the items of the '{bracket}' with ','"
            if problem is not None and problem.line != context.line:
                what = f"{opened} ({what} on line {problem.line + 1})"
            else:
                what = f"{opened} ({what})"
            return context.line + 1, what, hint
    mark = problem or context
    return (mark.line + 1 if mark is not None else None), what, _SYNTAX_HINT


def _check_expansion(root: yaml.Node, path: Path, limit: int = MAX_EXPANDED_NODES) -> None:
    """Refuse a document whose aliases expand past ``limit`` values, or refer to
    themselves, before anything is built (sizes are memoized per node: linear time)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise ConfigError(
                "a YAML alias refers to the node that contains it",
                file=path,
                line=node.start_mark.line + 1,
                hint="a config cannot be recursive: write the values out",
            )
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        open_nodes.discard(key)
        if total > limit:
            raise ConfigError(
                f"{path.name} expands to more than {limit:,} values through YAML aliases (*name)",
                file=path,
                line=node.start_mark.line + 1,
                hint="write the values out, or use fewer nested aliases",
            )
        sizes[key] = total
        return total

    size(root)


class _Builder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[KeyPath, int] = {}
        self.problems: list[Problem] = []
        self._constructor = yaml.SafeLoader("")
        self._merged_counts: dict[int, int] = {}
        # scalars already said to be unreadable: an alias of one (*x) is the same node, which
        # PyYAML then calls "unconstructable recursive", not the problem said at its anchor
        self._unreadable: set[int] = set()

    def build(self, node: yaml.Node, key_path: KeyPath) -> Any:
        self.lines.setdefault(key_path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            # flatten_mapping puts the pairs merged in by '<<: *anchor' first; keys written
            # out in the mapping override them (YAML merge semantics), they are no duplicates.
            # An aliased node is built again, already flattened: remember its count.
            merged_count = self._merged_counts.get(id(node))
            if merged_count is None:
                explicit = sum(1 for k, _ in node.value if k.tag != MERGE_TAG)
                self._flatten(node, key_path)
                merged_count = self._merged_counts[id(node)] = len(node.value) - explicit
            merged: set[str] = set()
            out: dict[str, Any] = {}
            for index, (key_node, value_node) in enumerate(node.value):
                if not isinstance(key_node, yaml.ScalarNode):
                    # `{{ 1 + 'a' }}: x` is a mapping used as a key: YAML reads the braces
                    # as a flow mapping, and PyYAML cannot build it ("unhashable key").
                    self.problems.append(
                        Problem(
                            "a key must be a plain name, not a list or a {...} mapping (an "
                            "unquoted {{ ... }} is read as one)",
                            file=self.path,
                            line=key_node.start_mark.line + 1,
                            key=format_key_path(key_path) or None,
                            hint="write the key as a name; a template belongs in a value, "
                            "in quotes: key: \"{{ env_var('NAME') }}\"",
                        )
                    )
                    continue
                key = self._construct(key_node, key_path)
                if isinstance(key, bool) and isinstance(key_node, yaml.ScalarNode):
                    key = key_node.value  # YAML 1.1 reads `on:` as True: keep the name
                elif not isinstance(key, str):
                    key = str(key)
                child = (*key_path, key)
                line = key_node.start_mark.line + 1
                if index < merged_count:
                    merged.add(key)
                elif key in out and key not in merged:
                    self.problems.append(
                        Problem(
                            f"duplicate key '{key}' (first on line {self.lines[child]})",
                            file=self.path,
                            line=line,
                            key=format_key_path(child),
                            hint="keep one of them",
                        )
                    )
                    continue
                else:
                    merged.discard(key)
                self.lines[child] = line
                out[key] = self.build(value_node, child)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*key_path, i)) for i, item in enumerate(node.value)]
        return self._construct(node, key_path)

    def _construct(self, node: yaml.Node, key_path: KeyPath) -> Any:
        """A scalar's value; a tag it does not fit (``!!int abc``, ``!!timestamp x``) is a
        problem at its line, not a crash (PyYAML raises ValueError and the like there). Said
        once, at the anchor, of a value its aliases repeat."""
        if id(node) in self._unreadable:
            return None
        try:
            return self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, AttributeError, OverflowError) as exc:
            self._unreadable.add(id(node))
            if _too_many_digits(exc, node):  # Python's limit, not a tag written in the file
                message = f"a number of {len(str(node.value))} characters is too long to read"
                hint = "write a number of at most a few dozen digits"
            else:
                tag = node.tag.replace("tag:yaml.org,2002:", "!!")
                message = f"cannot read {_shown(node)} as the YAML tag {tag} says"
                hint = f"remove the {tag} tag, or write a value of that type"
            self.problems.append(
                Problem(
                    message,
                    file=self.path,
                    line=node.start_mark.line + 1,
                    key=format_key_path(key_path) or None,
                    hint=hint,
                )
            )
            return None

    def _flatten(self, node: yaml.MappingNode, key_path: KeyPath) -> None:
        """Put the pairs merged in by ``<<: *anchor`` into ``node``; a merge of something
        that is not a mapping is a problem at its line (its pairs are left out)."""
        merges = [k.start_mark for k, _ in node.value if k.tag == MERGE_TAG]
        try:
            self._constructor.flatten_mapping(node)
        except yaml.MarkedYAMLError as exc:
            # PyYAML has taken the '<<' pair out by now: the line its key was on
            mark = merges[0] if len(merges) == 1 else exc.problem_mark or node.start_mark
            self.problems.append(
                Problem(
                    "'<<' merges an anchored mapping (*name) or a list of them; "
                    + (exc.problem or "this is neither"),
                    file=self.path,
                    line=mark.line + 1,
                    key=format_key_path(key_path) or None,
                    hint="point '<<' at an anchored mapping (&name) or write the keys out",
                )
            )
            node.value = [(k, v) for k, v in node.value if k.tag != MERGE_TAG]


def _too_many_digits(exc: Exception, node: yaml.Node) -> bool:
    """PyYAML's int of a plain scalar past Python's digit limit (``sys.set_int_max_str_digits``,
    4300 by default): an ``int`` the file wrote without a tag."""
    return (
        isinstance(exc, ValueError)
        and "Exceeds the limit" in str(exc)
        and node.tag == "tag:yaml.org,2002:int"
        and isinstance(node, yaml.ScalarNode)
        and not node.style
    )


MERGE_TAG = "tag:yaml.org,2002:merge"


def _shown(node: yaml.Node) -> str:
    """A scalar's text for a message, cut short (never a whole block)."""
    if not isinstance(node, yaml.ScalarNode):
        return "this value"
    text = str(node.value)
    return repr(text if len(text) <= 40 else text[:40] + "...")
