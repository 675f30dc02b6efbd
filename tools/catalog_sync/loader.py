"""Loads a catalog module from its file, with neither package installed and without crashing.

Each copy is executed under a unique module name so that the SDK's and the API's classes never
mix. A record that fails its own side's validation must become a finding, not a traceback: when
executing the module raises, it is executed again with every ``TINKER_MODELS`` and
``TINKER_RETIREMENTS`` element guarded, so the valid records (and the module's functions) still
load and each invalid one is kept with its pydantic message and the keyword values as written.
"""

from __future__ import annotations

import ast
import copy
import enum
import hashlib
import importlib.util
import itertools
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

from tools.catalog_sync.source import (
    ENTRIES_NAME,
    RETIRED_NAME,
    EntryCall,
    SourceMap,
    data_block_lines,
    read_source_map,
)

__all__ = ["Catalog", "Entry", "LoadError", "load_catalog", "plain"]

_GUARD_NAME = "__catalog_sync_guard__"
_STATEMENT_GUARD_NAME = "__catalog_sync_statement_failed__"
_CACHE_SIZE = 4
_names = itertools.count()
#: The data tuples whose elements are guarded one by one, and the type of their elements.
_RECORD_TYPES = {ENTRIES_NAME: "TrainingModel", RETIRED_NAME: "TrainingModelRetirement"}
#: Per guarded tuple, the positions of the elements that failed, with "<loc>\0<message>".
_Invalid = dict[str, dict[int, str]]
# Loading is most of a check's cost; tests load the same unmutated copy hundreds of times.
_Loaded = tuple[ModuleType, _Invalid, list[tuple[str, int, str]], SourceMap]
_cache: dict[tuple[str, str], _Loaded] = {}


class LoadError(Exception):
    """A catalog module could not be loaded at all (syntax, import, missing names)."""

    def __init__(self, display: str, reason: str) -> None:
        super().__init__(f"{display}: {reason}")
        self.display = display
        self.reason = reason


@dataclass(frozen=True)
class Entry:
    """One catalog entry (or retirement record) as one side defines it.

    ``values`` holds the validated entry dumped to JSON types, or, for an entry its own side
    rejects (``error`` set), the keyword values as written, so it can still be compared.
    """

    index: int
    tinker_id: str
    values: dict[str, Any]
    call: EntryCall | None
    error: str | None = None
    #: the field pydantic blamed first ("" for a whole-entry rule such as the dense-size check)
    error_field: str = ""


@dataclass(frozen=True)
class Catalog:
    """One loaded copy: its module, where things are in its source, and its entries in order."""

    side: str
    path: Path
    display: str
    text: str
    module: ModuleType
    source_map: SourceMap
    entries: tuple[Entry, ...]
    #: data-block statements other than the entries that failed: (name, line, reason)
    failed_statements: tuple[tuple[str, int, str], ...] = ()
    #: the ``TINKER_RETIREMENTS`` records, invalid ones included; None when the copy has none
    retirements: tuple[Entry, ...] | None = None


def plain(value: object) -> Any:
    """JSON-shaped data: models dumped, enum members as their values, dates as ISO strings,
    tuples as lists (as pydantic dumps them, so written and validated values compare alike)."""
    if hasattr(value, "model_dump") and callable(value.model_dump):
        return value.model_dump(mode="json")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def _describe(error: BaseException) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):  # pydantic.ValidationError: one "loc: msg" per problem
        parts = []
        for item in errors():
            loc = ".".join(str(part) for part in item.get("loc", ()))
            parts.append(f"{loc}: {item.get('msg')}" if loc else str(item.get("msg")))
        return "; ".join(parts)
    return f"{type(error).__name__}: {error}"


def _first_loc(error: BaseException) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        for item in errors():
            if item.get("loc"):
                return ".".join(str(part) for part in item["loc"])
    return ""


def _reason(error: BaseException, filename: str) -> str:
    """One line: the error, and the line of the catalog module it was raised from."""
    if isinstance(error, SyntaxError):
        return f"SyntaxError: {error.msg} (line {error.lineno})"
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == filename:
            line = frame.lineno
    where = f" (line {line})" if line else ""
    described = _describe(error)
    if not described.startswith(f"{type(error).__name__}:"):
        described = f"{type(error).__name__}: {described}"
    return " ".join(described.split()) + where


class _Guard(ast.NodeTransformer):
    """Rewrites ``TINKER_MODELS = (A, B)`` as ``TINKER_MODELS = guard("TINKER_MODELS", (lambda:
    A, lambda: B))``, and ``TINKER_RETIREMENTS`` alike.

    Every other top-level statement of the data block (``_ALL = (...)``) runs inside
    ``try``/``except``, so a data line referring to a member the enum lost is reported, too.
    """

    def __init__(self, block: tuple[int, int] | None) -> None:
        self.block = block

    def visit_Module(self, node: ast.Module) -> ast.Module:
        self.generic_visit(node)
        if self.block is None:
            return node
        begin, end = self.block
        body: list[ast.stmt] = []
        for statement in node.body:
            name = _target_name(statement)
            if begin < statement.lineno < end and name is not None and name not in _RECORD_TYPES:
                report = ast.Expr(
                    ast.Call(
                        ast.Name(_STATEMENT_GUARD_NAME, ast.Load()),
                        [ast.Constant(name), ast.Constant(statement.lineno),
                         ast.Name("__error", ast.Load())],
                        [],
                    )
                )  # fmt: skip
                handler = ast.ExceptHandler(ast.Name("Exception", ast.Load()), "__error", [report])
                guarded = ast.Try([statement], [handler], [], [])
                body.append(ast.copy_location(guarded, statement))
            else:
                body.append(statement)
        node.body = body
        return node

    def _wrap(self, name: str, node: ast.expr | None) -> ast.expr | None:
        if not isinstance(node, ast.Tuple | ast.List):
            return node
        thunks: list[ast.expr] = [
            ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[],
                                          defaults=[]), body=element)
            for element in node.elts
        ]  # fmt: skip
        arguments: list[ast.expr] = [ast.Constant(name), ast.Tuple(thunks, ast.Load())]
        call = ast.Call(ast.Name(_GUARD_NAME, ast.Load()), arguments, [])
        return ast.copy_location(call, node)

    def visit_Assign(self, node: ast.Assign) -> ast.Assign:
        name = _target_name(node)
        if name in _RECORD_TYPES:
            wrapped = self._wrap(name, node.value)
            assert wrapped is not None
            node.value = wrapped
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AnnAssign:
        name = _target_name(node)
        if name in _RECORD_TYPES:
            node.value = self._wrap(name, node.value)
        return node


def _target_name(statement: ast.stmt) -> str | None:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
        return target.id if isinstance(target, ast.Name) else None
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return statement.target.id
    return None


def _execute(
    tree: ast.Module,
    path: Path,
    side: str,
    guard: Callable[[str, tuple[Any, ...]], Any] | None,
    *,
    statement_failed: Callable[[str, int, BaseException], None] | None = None,
    block: tuple[int, int] | None = None,
) -> ModuleType:
    name = f"_catalog_sync_{side}_{next(_names)}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    if guard is not None:
        tree = ast.fix_missing_locations(_Guard(block).visit(copy.deepcopy(tree)))
        module.__dict__[_GUARD_NAME] = guard
        module.__dict__[_STATEMENT_GUARD_NAME] = statement_failed
    # pydantic resolves postponed annotations through sys.modules[cls.__module__].
    sys.modules[name] = module
    try:
        code = compile(tree, str(path), "exec")
        exec(code, module.__dict__)  # noqa: S102 -- the point is to run this repository's module
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _execute_guarded(
    tree: ast.Module,
    path: Path,
    side: str,
    first_error: BaseException,
    *,
    display: str,
    block: tuple[int, int] | None,
) -> tuple[ModuleType, _Invalid, list[tuple[str, int, str]]]:
    """Run the module again with each record guarded; the per-record errors, keyed by tuple
    name and position."""
    invalid: _Invalid = {}
    failed_statements: list[tuple[str, int, str]] = []

    def statement_failed(name: str, line: int, error: BaseException) -> None:
        failed_statements.append((name, line, _describe(error)))

    def guard(name: str, thunks: tuple[Any, ...]) -> tuple[Any, ...]:
        built = []
        for index, thunk in enumerate(thunks):
            try:
                built.append(thunk())
            except Exception as error:  # noqa: BLE001 -- any failure of one record is a finding
                loc = _first_loc(error)
                invalid.setdefault(name, {})[index] = f"{loc}\0{_describe(error)}"
        return tuple(built)

    try:
        module = _execute(tree, path, side, guard, statement_failed=statement_failed, block=block)
    except Exception:  # noqa: BLE001 -- the first error is the one worth reporting
        raise LoadError(display, _reason(first_error, str(path))) from first_error
    if not invalid and not failed_statements:
        raise LoadError(display, _reason(first_error, str(path))) from first_error
    return module, invalid, failed_statements


def _evaluate(node: ast.expr, module: ModuleType, filename: str) -> Any:
    try:
        expression = ast.fix_missing_locations(ast.Expression(body=node))
        value = eval(compile(expression, filename, "eval"), module.__dict__)  # noqa: S307
    except Exception:  # noqa: BLE001 -- an unevaluable keyword is shown as written
        return ast.unparse(node)
    return plain(value)


def _entries(
    module: ModuleType,
    name: str,
    calls: list[EntryCall],
    invalid: dict[int, str],
    filename: str,
) -> tuple[Entry, ...]:
    """The elements of tuple ``name`` in source order, each with its call when they align."""
    models = getattr(module, name)
    valid_positions = [i for i in range(len(calls)) if i not in invalid]
    aligned = len(valid_positions) == len(models)
    entries: list[Entry] = []
    for number, model in enumerate(models):
        call = calls[valid_positions[number]] if aligned else None
        index = call.index if call is not None else number
        entries.append(Entry(index, str(getattr(model, "tinker_id", "")), plain(model), call))
    entry_type = getattr(module, _RECORD_TYPES[name], None)
    fields = getattr(entry_type, "model_fields", {})
    for index, message in invalid.items():
        call = calls[index]
        values = {key: _evaluate(node, module, filename) for key, node in call.keywords.items()}
        for key, info in fields.items():
            if key not in values and not info.is_required():
                values[key] = plain(info.get_default(call_default_factory=True))
        loc, _, description = message.partition("\0")
        tinker_id = values.get("tinker_id")
        tinker_id = tinker_id if isinstance(tinker_id, str) else f"<entry {index + 1}>"
        entries.append(Entry(index, tinker_id, values, call, description, loc))
    entries.sort(key=lambda entry: entry.index)
    return tuple(entries)


def load_catalog(path: Path, side: str, display: str) -> Catalog:
    """Load one copy; LoadError, naming the file and the reason, when it cannot be loaded."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise LoadError(display, f"cannot read: {error.strerror or error}") from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise LoadError(display, _reason(error, str(path))) from error
    key = (side, hashlib.sha256(raw).hexdigest())
    if key in _cache:
        module, invalid, failed_statements, source_map = _cache[key]
    else:
        try:
            tree = ast.parse(text, filename=str(path))
        except (SyntaxError, ValueError) as error:
            raise LoadError(display, _reason(error, str(path))) from error
        source_map = read_source_map(tree)
        block: tuple[int, int] | None = None
        try:
            begin, end = data_block_lines(text.splitlines())
            block = (begin + 1, end + 1)  # 1-based, as ast line numbers
        except ValueError:
            pass
        try:
            module, invalid, failed_statements = _execute(tree, path, side, None), {}, []
        except Exception as error:  # noqa: BLE001 -- reported as a load failure or as findings
            module, invalid, failed_statements = _execute_guarded(
                tree, path, side, error, display=display, block=block
            )
        if len(_cache) >= _CACHE_SIZE:
            evicted = _cache.pop(next(iter(_cache)))[0]
            sys.modules.pop(evicted.__name__, None)
        _cache[key] = (module, invalid, failed_statements, source_map)
    if not hasattr(module, ENTRIES_NAME):
        raise LoadError(display, f"defines no {ENTRIES_NAME}")
    entries = _entries(
        module, ENTRIES_NAME, source_map.entries, invalid.get(ENTRIES_NAME, {}), str(path)
    )
    retirements = None
    if hasattr(module, RETIRED_NAME):
        retirements = _entries(
            module, RETIRED_NAME, source_map.retirements, invalid.get(RETIRED_NAME, {}), str(path)
        )
    return Catalog(
        side, path, display, text, module, source_map, entries, tuple(failed_statements),
        retirements,
    )  # fmt: skip
