"""The worker's ``tinker`` calls exist, with the arguments it passes, in both SDK versions it meets.

Production runs the newest ``tinker`` release; the local engine the worker's tests train on
speaks only to ``tinker`` 0.16.1. ``app.worker.tinker_calls.SDK_SURFACE`` and
``app.worker.rendering.TINKER_API`` list every call the worker makes with the keyword arguments
it passes; these tests hold them to both releases, and hold the two modules to their lists.

Both releases are read the same way: their source, parsed with ``ast``, never imported (the
newest may need dependencies this environment lacks, and importing two versions of one package
in one process is not possible anyway). 0.16.1's source is the installed ``tinker`` when that
is 0.16.1; any version not installed is fetched as a wheel with ``pip download --no-deps`` into
a cache directory, once, and read straight from the wheel:

- ``$TINKER_WHEEL_CACHE`` when set (a nox session can point it at a directory it keeps),
- otherwise pytest's cache, ``.pytest_cache/d/tinker-wheels/`` under the repository root.

A wheel that cannot be fetched fails the tests that need it, with pip's own message: there is no
offline switch, because a check that quietly stops running is worse than one that fails. To run
without a network, put the wheel in the cache directory first
(``pip download --no-deps tinker==VERSION -d DIR``).

What "accepts a keyword" means, read from the source:

- a function or method: a parameter of that name that is not positional-only;
- a class: the parameters of its ``__init__`` when it (or a ``tinker`` base) defines one,
  otherwise its fields (a dataclass's, or a pydantic model's, by alias when it has one);
- a ``**kwargs`` parameter accepts a name only when ``KWARGS_FORWARDED`` says where the SDK
  sends it and the chain ends in a callable that names it (see there).

Decorators are assumed to keep the signatures they wrap, as the SDK's own do (``sync_only``,
``capture_exceptions``, ``with_sdk_method_telemetry`` all pass ``*args, **kwargs`` through).
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from app.worker import rendering, tinker_calls

#: The newest ``tinker`` release, what production installs. Bumping it is a deliberate change:
#: do it when a new release is out, and read what these tests say about it before merging.
#: (The noxfile may read it from this file; keep it a plain string literal.)
NEWEST_TINKER = "0.38.0"
#: What the local Tinker engine the worker's tests train on speaks.
LOCAL_ENGINE_TINKER = "0.16.1"
VERSIONS = (LOCAL_ENGINE_TINKER, NEWEST_TINKER)
#: A directory for the downloaded wheels; unset, pytest's cache directory holds them.
CACHE_ENV = "TINKER_WHEEL_CACHE"

MAPPINGS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "tinker_calls.SDK_SURFACE": tinker_calls.SDK_SURFACE,
    "rendering.TINKER_API": rendering.TINKER_API,
}
SURFACE: Mapping[str, tuple[str, ...]] = {
    name: args for mapping in MAPPINGS.values() for name, args in mapping.items()
}
#: The modules that make the calls, whose source is scanned for every ``tinker`` name they use.
MODULES: tuple[ModuleType, ...] = (tinker_calls, rendering)

#: The SDK's client classes: a method call in the scanned modules whose name is a public method
#: of one of them is taken for a call on that client (the scanned modules are the worker's door
#: to Tinker, so their method calls of these names are the SDK's).
CLIENT_CLASSES = (
    "tinker.ServiceClient",
    "tinker.TrainingClient",
    "tinker.SamplingClient",
    "tinker.RestClient",
)

#: Calls that take a listed keyword through ``**kwargs`` in some version, with the callables
#: the SDK passes that ``**kwargs`` on to, in order; the last must name the keyword. Checked:
#: each hop exists, the module defining the one before it calls it with ``**``, and every hop
#: but the last has ``**kwargs`` itself. Read, not checked: that the ``**`` call passes on the
#: same keywords.
#:
#: ``tinker.ServiceClient`` in 0.16.1: ``ServiceClient.__init__(**kwargs)`` calls
#: ``InternalClientHolder(..., **kwargs, ...)``; ``InternalClientHolder.__init__(**kwargs)``
#: keeps them as ``_constructor_kwargs`` and each connection pool builds
#: ``AsyncTinker(**self._constructor_kwargs)``, whose ``__init__`` names ``base_url`` and
#: ``api_key``. (0.38.0 names both on ``ServiceClient.__init__`` and ignores, with a warning,
#: any other keyword: no chain is needed there, and a name it does not list fails.)
KWARGS_FORWARDED: Mapping[str, tuple[str, ...]] = {
    "tinker.ServiceClient": (
        "tinker.lib.internal_client_holder.InternalClientHolder",
        "tinker._client.AsyncTinker",
    ),
}

#: What the worker reads from the SDK's answers. These are not calls, so neither mapping lists
#: them; each must exist in both versions, and each attribute name must still be read somewhere
#: in the scanned modules (so this list does not outlive its use).
RESULTS_READ = (
    "tinker.APIFuture.result",  # every call's future: .result()
    "tinker.APIStatusError.status_code",  # tinker_calls._transient, _describe
    "tinker.APIStatusError.message",  # tinker_calls._describe
    "tinker.types.ForwardBackwardOutput.loss_fn_outputs",  # tinker_calls.mean_loss
    "tinker.types.TensorData.tolist",  # record["logprobs"].tolist() in mean_loss
    "tinker.types.SaveWeightsResponse.path",  # save_state(...).result().path
    "tinker.types.SaveWeightsForSamplerResponse.path",  # save_weights_for_sampler(...)...
    "tinker.types.SampledSequence.stop_reason",  # TinkerSession.sample: a completion's end
)

#: Listed calls whose declared return type differs between the two versions, as
#: ``(0.16.1's, the newest's)``, each one read and judged; any other difference fails.
#:
#: The two training-client constructors (and the RL sampler below): 0.38.0 returns a future of
#: the ``TrainingClient`` (``BackcompatTrainingClientFuture``, an ``APIFuture``) where 0.16.1
#: returns the client. The future still works as the client, deprecated: each client method
#: called on it warns ``FutureWarning`` and waits for the client, and the wrapper "will be
#: removed in a subsequent version". The worker keeps the return value as its client, so on
#: 0.38.0 it runs on that deprecated path, and a creation that fails surfaces only at the first
#: client call (as a ``forward_backward`` failure, retried on the same failed future, the run
#: never re-created).
RETURN_CHANGES: Mapping[str, tuple[str, str]] = {
    "tinker.ServiceClient.create_lora_training_client": (
        "TrainingClient",
        "BackcompatTrainingClientFuture",
    ),
    "tinker.ServiceClient.create_training_client_from_state_with_optimizer": (
        "TrainingClient",
        "BackcompatTrainingClientFuture",
    ),
    # A job on one of the owner's models starts from its checkpoint: the same change, and the
    # worker waits for the client the same way (``tinker_calls._resolved``).
    "tinker.ServiceClient.create_training_client_from_state": (
        "TrainingClient",
        "BackcompatTrainingClientFuture",
    ),
    # The API's sampling client of a model (``Sampler``): the same change for sampling clients,
    # waited for by ``_resolved`` too, so a failed creation is retried as a creation.
    "tinker.ServiceClient.create_sampling_client": (
        "SamplingClient",
        "BackcompatSamplingClientFuture",
    ),
    # The RL step's sampler: the same change for the sampling client (a deprecated
    # ``BackcompatSamplingClientFuture`` that still works as the client on 0.38.0).
    "tinker.TrainingClient.save_weights_and_get_sampling_client": (
        "SamplingClient",
        "BackcompatSamplingClientFuture",
    ),
    # A sample's answer: a concurrent future in 0.16.1, an ``APIFuture`` in 0.38.0; the worker
    # only calls ``.result()`` on it, which both have.
    "tinker.SamplingClient.sample": (
        "ConcurrentFuture[types.SampleResponse]",
        "APIFuture[types.SampleResponse]",
    ),
}


# --- What the worker's modules use -------------------------------------------------------------


@dataclass(frozen=True)
class Use:
    """One use of the SDK in a scanned module: a ``tinker`` name (``tinker.types.Datum``), or a
    method call on some object (``.forward_backward``), with how a call passes its arguments."""

    name: str
    where: str
    call: bool
    keywords: tuple[str, ...] = ()
    positional: int = 0
    unpacked: bool = False


def _tinker_aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> the ``tinker`` name it is bound to, from every import in the module."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "tinker":
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        aliases["tinker"] = "tinker"
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] == "tinker"
        ):
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _dotted(node: ast.expr, aliases: Mapping[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, aliases)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _scan(module: ModuleType) -> tuple[list[Use], set[str]]:
    """Every SDK use in ``module``'s source, and every attribute name it reads."""
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    aliases = _tinker_aliases(tree)
    label = module.__name__.replace(".", "/") + ".py"
    uses: list[Use] = []

    class Visitor(ast.NodeVisitor):
        def visit_Import(self, node: ast.Import) -> None:
            pass  # an import binds a name; its uses are what count

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            pass

        def visit_Call(self, node: ast.Call) -> None:
            name = _dotted(node.func, aliases)
            if name is None and isinstance(node.func, ast.Attribute):
                name = "." + node.func.attr
                self.visit(node.func.value)
            elif name is None:
                self.visit(node.func)
            if name is not None:
                uses.append(
                    Use(
                        name,
                        f"{label}:{node.lineno}",
                        call=True,
                        keywords=tuple(k.arg for k in node.keywords if k.arg is not None),
                        positional=sum(not isinstance(a, ast.Starred) for a in node.args),
                        unpacked=any(isinstance(a, ast.Starred) for a in node.args)
                        or any(k.arg is None for k in node.keywords),
                    )
                )
            for child in (*node.args, *node.keywords):
                self.visit(child)

        def visit_Attribute(self, node: ast.Attribute) -> None:
            name = _dotted(node, aliases)
            if name is None:
                self.generic_visit(node)
            else:
                uses.append(Use(name, f"{label}:{node.lineno}", call=False))

        def visit_Name(self, node: ast.Name) -> None:
            if node.id in aliases:
                uses.append(Use(aliases[node.id], f"{label}:{node.lineno}", call=False))

    Visitor().visit(tree)
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    return uses, attributes


def _scan_all() -> tuple[list[Use], set[str]]:
    uses: list[Use] = []
    attributes: set[str] = set()
    for module in MODULES:
        found, read = _scan(module)
        uses += found
        attributes |= read
    return uses, attributes


USES, ATTRIBUTES_READ = _scan_all()


def _owner(name: str) -> str:
    return name.rpartition(".")[0]


def _call_sites(name: str) -> list[Use]:
    """The calls of a listed name: by its ``tinker`` name, or, for a client's method, by its
    method name on any object."""
    method = "." + name.rpartition(".")[2]
    return [
        use
        for use in USES
        if use.call
        and (use.name == name or (_owner(name) in CLIENT_CLASSES and use.name == method))
    ]


def _positional(name: str) -> int:
    """How many arguments the worker passes by position to ``name`` (the first that many of its
    listed arguments, in order)."""
    return max((use.positional for use in _call_sites(name)), default=0)


# --- One release's source, read without importing it -----------------------------------------


class UnresolvedError(Exception):
    """A name does not resolve in a release's source."""


@dataclass
class Found:
    """What a dotted name is in one release: a module, class, function or other value defined in
    ``module``, or (``external``) a name from outside ``tinker``, spelled in ``module``."""

    kind: str
    module: str
    node: ast.AST | None = None
    in_class: bool = False


@dataclass(frozen=True)
class Signature:
    """What a callable accepts: by keyword, by position (in order), and whether ``**kwargs``."""

    keyword: tuple[str, ...]
    positional: tuple[str, ...]
    var_keyword: bool
    where: str


def _statements(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """A module's or class's statements, including those under ``if`` and ``try``."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If):
            yield from _statements(stmt.body)
            yield from _statements(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            yield from _statements(stmt.body)
            for handler in stmt.handlers:
                yield from _statements(handler.body)
            yield from _statements(stmt.orelse)
            yield from _statements(stmt.finalbody)


def _last_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else ""


def _dataclass_init(node: ast.ClassDef) -> bool | None:
    """None for a class that is not a dataclass; else whether the dataclass writes ``__init__``."""
    for decorator in node.decorator_list:
        if _last_name(decorator) == "dataclass":
            if isinstance(decorator, ast.Call):
                for keyword in decorator.keywords:
                    if keyword.arg == "init" and isinstance(keyword.value, ast.Constant):
                        return bool(keyword.value.value)
            return True
    return None


def _is_classvar(annotation: ast.expr) -> bool:
    target = annotation.value if isinstance(annotation, ast.Subscript) else annotation
    return _last_name(target) in {"ClassVar", "InitVar"}


def _call_keyword(value: ast.expr | None, function: str, keyword: str) -> ast.expr | None:
    """``keyword``'s argument when ``value`` is a call of ``function`` (``Field``, ``field``)."""
    if isinstance(value, ast.Call) and _last_name(value) == function:
        for item in value.keywords:
            if item.arg == keyword:
                return item.value
    return None


class SdkSource:
    """One ``tinker`` release's Python source: ``files`` maps ``tinker/...py`` to its text."""

    def __init__(self, version: str, files: Mapping[str, str], origin: str) -> None:
        self.version = version
        self.files = files
        self.origin = origin
        self._trees: dict[str, ast.Module] = {}

    # Modules.

    def path(self, module: str) -> str | None:
        base = module.replace(".", "/")
        for candidate in (f"{base}.py", f"{base}/__init__.py"):
            if candidate in self.files:
                return candidate
        return None

    def is_module(self, module: str) -> bool:
        """A module, a package, or a directory of modules (a namespace package: ``tinker.lib``)."""
        prefix = module.replace(".", "/") + "/"
        return self.path(module) is not None or any(name.startswith(prefix) for name in self.files)

    def is_package(self, module: str) -> bool:
        path = self.path(module)
        return self.is_module(module) and (path is None or path.endswith("/__init__.py"))

    def tree(self, module: str) -> ast.Module:
        if module not in self._trees:
            path = self.path(module)
            text = "" if path is None else self.files[path]  # a namespace package: no code
            self._trees[module] = ast.parse(text, filename=path or module)
        return self._trees[module]

    def where(self, found: Found) -> str:
        line = getattr(found.node, "lineno", None)
        path = self.path(found.module) or found.module
        return f"{path}:{line}" if line else path

    def _absolute(self, module: str, node: ast.ImportFrom) -> str:
        if node.level == 0:
            return node.module or ""
        package = module if self.is_package(module) else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        return f"{package}.{node.module}" if node.module else package

    # Names.

    def resolve(self, dotted: str) -> Found:
        parts = dotted.split(".")
        if not self.is_module(parts[0]):
            raise UnresolvedError(f"there is no module {parts[0]!r}")
        found = Found("module", parts[0])
        for index, part in enumerate(parts[1:], start=1):
            member = self.member(found, part)
            if member is None:
                raise UnresolvedError(f"{'.'.join(parts[:index])} has no {part!r}")
            found = member
        return found

    def member(self, found: Found, name: str) -> Found | None:
        if found.kind == "module":
            return self.module_member(found.module, name, frozenset())
        if found.kind == "class":
            return self.class_member(found, name)
        if found.kind == "external":
            return Found("external", f"{found.module}.{name}")
        return None

    def expression(self, module: str, node: ast.expr, seen: frozenset[str]) -> Found | None:
        """What an expression naming something (``Base``, ``mod.Base``, ``Base[T]``) is."""
        if isinstance(node, ast.Name):
            return self.module_member(module, node.id, seen)
        if isinstance(node, ast.Attribute):
            base = self.expression(module, node.value, seen)
            return None if base is None else self.member(base, node.attr)
        if isinstance(node, ast.Subscript):
            return self.expression(module, node.value, seen)
        return None

    def module_member(self, module: str, name: str, seen: frozenset[str]) -> Found | None:
        """What ``name`` is in ``module``: defined or imported there (also under ``if`` or
        ``try``, or by ``import *``), or its submodule."""
        key = f"{module}:{name}"
        if key in seen:
            return None
        seen = seen | {key}
        star_sources: list[str] = []
        for stmt in _statements(self.tree(module).body):
            found = self._binding(module, stmt, name, seen, star_sources)
            if found is not None:
                return found
        for source in star_sources:
            found = self.module_member(source, name, seen) if self.is_module(source) else None
            if found is not None:
                return found
        submodule = f"{module}.{name}"
        return Found("module", submodule) if self.is_module(submodule) else None

    def _binding(
        self, module: str, stmt: ast.stmt, name: str, seen: frozenset[str], stars: list[str]
    ) -> Found | None:
        """What ``stmt`` binds ``name`` to, if it binds it; ``import *`` sources go to ``stars``."""
        if isinstance(stmt, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            kind = "class" if isinstance(stmt, ast.ClassDef) else "function"
            return Found(kind, module, stmt) if stmt.name == name else None
        if isinstance(stmt, ast.ImportFrom):
            source = self._absolute(module, stmt)
            stars += [source for alias in stmt.names if alias.name == "*"]
            for alias in stmt.names:
                if (alias.asname or alias.name) == name and alias.name != "*":
                    return self._imported(source, alias.name, seen)
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if (alias.asname or alias.name.split(".")[0]) == name:
                    target = alias.name if alias.asname else name
                    return Found("module" if self.is_module(target) else "external", target)
        elif isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                aliased = None
                if isinstance(stmt.value, ast.Name | ast.Attribute):  # X = Y: what Y is
                    aliased = self.expression(module, stmt.value, seen)
                return aliased or Found("value", module, stmt)
        return None

    def _imported(self, source: str, name: str, seen: frozenset[str]) -> Found | None:
        if self.is_module(f"{source}.{name}"):
            return Found("module", f"{source}.{name}")
        if not self.is_module(source):
            return Found("external", f"{source}.{name}")
        return self.module_member(source, name, seen)

    # Classes.

    def mro(self, found: Found) -> tuple[list[Found], list[str]]:
        """The class and its bases in ``tinker`` (depth first, left to right), and the names of
        its bases from outside ``tinker``."""
        classes: list[Found] = []
        external: list[str] = []

        def visit(cls: Found) -> None:
            if any(seen.node is cls.node for seen in classes):
                return
            classes.append(cls)
            assert isinstance(cls.node, ast.ClassDef)
            for base in cls.node.bases:
                resolved = self.expression(cls.module, base, frozenset())
                if resolved is not None and resolved.kind == "class":
                    visit(resolved)
                elif resolved is not None and resolved.kind == "external":
                    external.append(resolved.module)
                else:
                    external.append(ast.unparse(base))

        visit(found)
        return classes, external

    def class_member(self, found: Found, name: str) -> Found | None:
        for cls in self.mro(found)[0]:
            assert isinstance(cls.node, ast.ClassDef)
            for stmt in _statements(cls.node.body):
                if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == name:
                    return Found("function", cls.module, stmt, in_class=True)
                if isinstance(stmt, ast.ClassDef) and stmt.name == name:
                    return Found("class", cls.module, stmt)
                if isinstance(stmt, ast.AnnAssign | ast.Assign):
                    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                    if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                        return Found("value", cls.module, stmt)
        return None

    def public_methods(self, dotted: str) -> set[str]:
        """The public method names of a class (none when this release has no such class)."""
        try:
            found = self.resolve(dotted)
        except UnresolvedError:
            return set()
        if found.kind != "class":
            return set()
        return {
            stmt.name
            for cls in self.mro(found)[0]
            if isinstance(cls.node, ast.ClassDef)
            for stmt in cls.node.body
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
            and not stmt.name.startswith("_")
        }

    # Signatures.

    def signature(self, found: Found) -> Signature | str:
        """What ``found`` accepts when called, or why that cannot be read."""
        if found.kind == "function":
            assert isinstance(found.node, ast.FunctionDef | ast.AsyncFunctionDef)
            return _function_signature(found.node, found.in_class, self.where(found))
        if found.kind == "class":
            return self._constructor(found)
        return f"it is a {found.kind} ({self.where(found)}), not something to call"

    def _constructor(self, found: Found) -> Signature | str:
        classes, external = self.mro(found)
        for index, cls in enumerate(classes):
            assert isinstance(cls.node, ast.ClassDef)
            if _dataclass_init(cls.node):
                return self._fields(classes[index:], dataclass=True, where=self.where(cls))
            for stmt in cls.node.body:
                if isinstance(stmt, ast.FunctionDef) and stmt.name == "__init__":
                    where = self.where(Found("function", cls.module, stmt))
                    return _function_signature(stmt, True, where)
        if any(name.split(".")[0] == "pydantic" for name in external):
            return self._fields(classes, dataclass=False, where=self.where(found))
        return (
            f"its constructor is not in tinker's source (bases from outside: {external}; "
            f"{self.where(found)})"
        )

    def _fields(self, classes: list[Found], *, dataclass: bool, where: str) -> Signature:
        """A dataclass's ``__init__`` (its fields, in order) or a pydantic model's (keyword only,
        a field's alias when it has one)."""
        names: list[str] = []
        for cls in reversed(classes):
            assert isinstance(cls.node, ast.ClassDef)
            if dataclass and _dataclass_init(cls.node) is None:
                continue
            for stmt in cls.node.body:
                if not isinstance(stmt, ast.AnnAssign) or not isinstance(stmt.target, ast.Name):
                    continue
                name = stmt.target.id
                if _is_classvar(stmt.annotation) or (not dataclass and name.startswith("_")):
                    continue
                init = _call_keyword(stmt.value, "field", "init")
                if dataclass and isinstance(init, ast.Constant) and init.value is False:
                    continue
                alias = _call_keyword(stmt.value, "Field", "alias")
                if not dataclass and isinstance(alias, ast.Constant):
                    name = str(alias.value)
                if name not in names:
                    names.append(name)
        positional = tuple(names) if dataclass else ()
        return Signature(tuple(names), positional, var_keyword=False, where=where)

    def calls_with_unpacking(self, module: str, callee: str) -> bool:
        """Whether ``module`` calls something named ``callee`` with a ``**`` argument."""
        return any(
            isinstance(node, ast.Call)
            and _last_name(node.func) == callee
            and any(keyword.arg is None for keyword in node.keywords)
            for node in ast.walk(self.tree(module))
        )

    # The check.

    def problems(self, name: str, arguments: Sequence[str], positional: int) -> list[str]:
        """Why ``name`` cannot be called as the worker calls it in this release (empty: it can).
        The first ``positional`` of ``arguments`` are passed by position, the rest by keyword."""
        try:
            found = self.resolve(name)
        except UnresolvedError as err:
            return [f"does not exist: {err}"]
        if not arguments:
            return []
        signature = self.signature(found)
        if isinstance(signature, str):
            return [f"cannot be checked: {signature}"]
        problems: list[str] = []
        takes = f"it takes ({', '.join(signature.keyword) or 'nothing by keyword'}; "
        takes += f"{signature.where})"
        for index, argument in enumerate(arguments[:positional]):
            if index >= len(signature.positional) or signature.positional[index] != argument:
                actual = (
                    repr(signature.positional[index])
                    if index < len(signature.positional)
                    else "not there"
                )
                problems.append(
                    f"the worker passes {argument!r} as positional argument {index + 1}, "
                    f"but that position is {actual}; {takes}"
                )
        for argument in arguments[positional:]:
            if argument in signature.keyword:
                continue
            if not signature.var_keyword:
                problems.append(f"has no parameter {argument!r}; {takes}")
                continue
            problem = self._forwarded(name, found, argument)
            if problem is not None:
                problems.append(f"has no parameter {argument!r} but **kwargs, and {problem}")
        return problems

    def _forwarded(self, name: str, found: Found, argument: str) -> str | None:
        """None when ``KWARGS_FORWARDED`` brings ``argument`` to a callable naming it."""
        chain = KWARGS_FORWARDED.get(name, ())
        if not chain:
            return (
                "KWARGS_FORWARDED says nowhere it goes: read where the SDK sends those keywords "
                "and add the chain there, or pass only named parameters"
            )
        previous = found
        for hop in chain:
            target, problem = self._hop(previous, hop, argument)
            if target is None:
                return problem
            previous = target
        return f"no callable it is forwarded to names it ({' -> '.join(chain)})"

    def _hop(self, previous: Found, hop: str, argument: str) -> tuple[Found | None, str | None]:
        """One step of a ``**kwargs`` chain: (None, None) when ``hop`` names ``argument``,
        (None, why) when the chain breaks here, (hop, None) when ``hop`` passes it on too."""
        try:
            target = self.resolve(hop)
        except UnresolvedError as err:
            return None, f"its forward to {hop} is gone: {err}"
        callee = hop.rpartition(".")[2]
        if not self.calls_with_unpacking(previous.module, callee):
            return None, (
                f"{self.path(previous.module)} makes no {callee}(**...) call, so this release "
                "does not pass it on (KWARGS_FORWARDED's chain does not hold here)"
            )
        signature = self.signature(target)
        if isinstance(signature, str):
            return None, f"{hop} cannot be checked: {signature}"
        if argument in signature.keyword:
            return None, None
        if not signature.var_keyword:
            return None, f"{hop}, which it forwards to, has no parameter {argument!r}"
        return target, None


def _function_signature(
    node: ast.FunctionDef | ast.AsyncFunctionDef, in_class: bool, where: str
) -> Signature:
    arguments = node.args
    positional_only = [a.arg for a in arguments.posonlyargs]
    regular = [a.arg for a in arguments.args]
    static = any(_last_name(d) == "staticmethod" for d in node.decorator_list)
    if in_class and not static:  # self or cls
        if positional_only:
            positional_only = positional_only[1:]
        else:
            regular = regular[1:]
    return Signature(
        keyword=tuple(regular + [a.arg for a in arguments.kwonlyargs]),
        positional=tuple(positional_only + regular),
        var_keyword=arguments.kwarg is not None,
        where=where,
    )


# --- Getting each release's source -------------------------------------------------------------


class SourceUnavailableError(Exception):
    """A release's source could not be had."""


def _wheel_directory(config: pytest.Config) -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        directory = Path(configured)
    elif getattr(config, "cache", None) is not None:
        directory = config.cache.mkdir("tinker-wheels")
    else:
        raise SourceUnavailableError(
            f"pytest's cache is off (-p no:cacheprovider): set {CACHE_ENV} to a directory "
            "for the tinker wheels"
        )
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _wheel(version: str, directory: Path) -> Path:
    """``tinker==version``'s wheel in ``directory``, downloaded the first time."""
    cached = sorted(directory.glob(f"tinker-{version}-*.whl"))
    if cached:
        return cached[0]
    if importlib.util.find_spec("pip") is None:
        raise SourceUnavailableError(
            f"tinker {version} is not in {directory}, and this environment has no pip to "
            "download it (a virtualenv made by uv has none): install pip here (a nox session: "
            "session.install('pip')), or put the wheel there yourself "
            f"(pip download --no-deps tinker=={version} -d {directory})"
        )
    # Into a scratch directory first, then moved in whole: a download that dies half-way, or
    # a second test process downloading at the same time, never leaves a broken wheel behind.
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--quiet",
            "--dest",
            scratch,
            f"tinker=={version}",
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        except subprocess.TimeoutExpired as err:
            raise SourceUnavailableError(
                f"downloading tinker {version} took over 300 s: {' '.join(command)}"
            ) from err
        wheels = sorted(Path(scratch).glob(f"tinker-{version}-*.whl"))
        if done.returncode != 0 or not wheels:
            output = (done.stderr + done.stdout).splitlines()
            errors = [line for line in output if line.startswith("ERROR")] or output
            raise SourceUnavailableError(
                f"could not download tinker {version} (exit {done.returncode}) to check the "
                f"worker's calls against it; no network? Put the wheel in {directory} "
                f"(pip download --no-deps tinker=={version} -d {directory}) to run offline.\n"
                + "\n".join(errors[-15:])
            )
        target = directory / wheels[0].name
        os.replace(wheels[0], target)
    return target


def _load(version: str, directory: Callable[[], Path]) -> SdkSource:
    try:
        installed = importlib.metadata.distribution("tinker")
    except importlib.metadata.PackageNotFoundError:
        installed = None
    if installed is not None and installed.version == version:
        files = {
            str(file.as_posix()): Path(str(installed.locate_file(file))).read_text(encoding="utf-8")
            for file in installed.files or ()
            if file.parts[0] == "tinker" and file.suffix == ".py"
        }
        return SdkSource(version, files, origin="installed")
    wheel = _wheel(version, directory())
    with zipfile.ZipFile(wheel) as archive:
        files = {
            name: archive.read(name).decode("utf-8")
            for name in archive.namelist()
            if name.startswith("tinker/") and name.endswith(".py")
        }
    return SdkSource(version, files, origin=str(wheel.name))


@pytest.fixture(scope="session")
def tinker_source(pytestconfig: pytest.Config) -> Callable[[str], SdkSource]:
    """``tinker_source(version)``: that release's source; a release that cannot be had fails the
    test (once per version: a failed download is not tried again within the run)."""
    loaded: dict[str, SdkSource | str] = {}

    def load(version: str) -> SdkSource:
        if version not in loaded:
            try:
                loaded[version] = _load(version, lambda: _wheel_directory(pytestconfig))
            except SourceUnavailableError as err:
                loaded[version] = str(err)
        source = loaded[version]
        if isinstance(source, str):
            pytest.fail(source, pytrace=False)
        return source

    return load


# --- The tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(SURFACE))
def test_listed_call_takes_its_arguments(
    name: str, version: str, tinker_source: Callable[[str], SdkSource]
) -> None:
    """Each listed call exists in the release and accepts each argument the worker passes."""
    source = tinker_source(version)
    problems = source.problems(name, SURFACE[name], _positional(name))
    assert not problems, "\n".join(
        f"tinker {version} ({source.origin}): {name}: {problem}" for problem in problems
    )


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", RESULTS_READ)
def test_result_attribute_exists(
    name: str, version: str, tinker_source: Callable[[str], SdkSource]
) -> None:
    """What the worker reads from the SDK's answers is there in the release."""
    source = tinker_source(version)
    problems = source.problems(name, (), 0)
    assert not problems, f"tinker {version} ({source.origin}): {name}: {problems[0]}"


def test_return_types_agree(tinker_source: Callable[[str], SdkSource]) -> None:
    """A listed call's declared return type is the same in both releases, or is a reviewed
    change in ``RETURN_CHANGES``."""
    old, new = (tinker_source(version) for version in VERSIONS)
    problems: list[str] = []
    for name in sorted(SURFACE):
        returns: list[str] = []
        for source in (old, new):
            found = source.resolve(name)
            node = found.node
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
                returns.append(ast.unparse(node.returns))
        if len(returns) < 2:
            continue
        expected = RETURN_CHANGES.get(name, (returns[0], returns[0]))
        if tuple(returns) != expected:
            problems.append(
                f"{name} returns {returns[0]} in tinker {old.version} and {returns[1]} in tinker "
                f"{new.version} (RETURN_CHANGES expects {expected[0]} and {expected[1]})"
            )
    assert not problems, "\n".join(problems)


def _listed_arguments_problems(use: Use, name: str) -> list[str]:
    listed = SURFACE[name]
    problems = []
    if use.unpacked:
        problems.append(f"{use.where} calls {name} with */** unpacking: pass each by name")
    for keyword in use.keywords:
        if keyword not in listed:
            problems.append(f"{use.where} passes {keyword!r} to {name}, which lists {listed}")
    if use.positional > len(listed):
        problems.append(
            f"{use.where} passes {use.positional} arguments by position to {name}, which lists "
            f"only {listed}"
        )
    return problems


def test_every_sdk_use_is_listed(tinker_source: Callable[[str], SdkSource]) -> None:
    """Every ``tinker`` name the two modules use, and every call they make on an SDK client, is
    in ``SDK_SURFACE`` or ``TINKER_API``, with every argument it is passed."""
    client_methods: dict[str, set[str]] = {}
    for version in VERSIONS:
        source = tinker_source(version)
        for client in CLIENT_CLASSES:
            for method in source.public_methods(client):
                client_methods.setdefault("." + method, set()).add(f"{client}.{method}")
    problems: list[str] = []
    for use in USES:
        if use.name.startswith("."):  # a method call on some object
            candidates = sorted(client_methods.get(use.name, ()))
            listed = [name for name in candidates if name in SURFACE]
            if candidates and not listed:
                problems.append(
                    f"{use.where} calls {use.name[1:]}() ({' or '.join(candidates)}), which "
                    "neither mapping lists"
                )
            problems += (p for name in listed[:1] for p in _listed_arguments_problems(use, name))
        elif use.call:
            if use.name in SURFACE:
                problems += _listed_arguments_problems(use, use.name)
            else:
                problems.append(f"{use.where} calls {use.name}, which neither mapping lists")
        elif not any(name == use.name or name.startswith(use.name + ".") for name in SURFACE):
            problems.append(f"{use.where} uses {use.name}, which neither mapping lists")
    assert not problems, "\n".join(problems)


def test_every_listed_call_is_made() -> None:
    """Each listed name is used, and each listed argument is passed, by the two modules (a list
    that claims more than the worker does holds the SDK to calls nobody makes)."""
    problems: list[str] = []
    for label, mapping in MAPPINGS.items():
        for name, arguments in mapping.items():
            sites = _call_sites(name)
            if not sites and not any(use.name == name for use in USES):
                problems.append(f"{label} lists {name}, which neither module uses")
                continue
            passed = {keyword for use in sites for keyword in use.keywords}
            passed.update(arguments[: _positional(name)])
            problems += (
                f"{label} lists {argument!r} for {name}, which no call passes"
                for argument in arguments
                if argument not in passed
            )
    assert not problems, "\n".join(problems)


def test_mappings_do_not_overlap() -> None:
    shared = set(tinker_calls.SDK_SURFACE) & set(rendering.TINKER_API)
    assert not shared, f"listed in both SDK_SURFACE and TINKER_API: {sorted(shared)}"


def test_results_read_are_still_read() -> None:
    unread = [name for name in RESULTS_READ if name.rpartition(".")[2] not in ATTRIBUTES_READ]
    assert not unread, f"RESULTS_READ lists what neither module reads any more: {unread}"
