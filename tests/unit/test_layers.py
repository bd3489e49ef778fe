"""Dependencies point inwards: domain <- application <- infrastructure / presentation."""

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT = "kv_api"  # src/ installs as this package
LAYERS = ("domain", "application", "infrastructure", "presentation")
# The inner layers may use the standard library and the layers inside them, nothing else.
ALLOWED = {
    "domain": {"domain"},
    "application": {"domain", "application"},
}
# Standard-library modules that do I/O or talk to processes have no place in the domain.
DOMAIN_IO = {"asyncio", "io", "os", "pathlib", "shutil", "socket", "sqlite3", "subprocess"}


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Absolute names of every module `source` imports, relative imports resolved."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = _resolve(package, node.level, base)
            found.add(base)
    return found


def _resolve(package: str, level: int, name: str) -> str:
    parts = package.split(".")
    if level > len(parts):
        return "." * level + name  # beyond the top-level package: kept as written, flagged
    anchor = ".".join(parts[: len(parts) - level + 1])
    return f"{anchor}.{name}" if name else anchor


def _layer_of(name: str) -> str:
    """`kv_api.domain.keys` -> `domain`; any other module -> its top-level name."""
    parts = name.split(".")
    return parts[1] if parts[0] == ROOT and len(parts) > 1 else parts[0]


def forbidden_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    layer = _layer_of(module)
    allowed = ALLOWED[layer]
    bad = []
    for name in sorted(imported_modules(source, module, is_package)):
        root = _layer_of(name)
        in_stdlib = root in sys.stdlib_module_names and name.split(".")[0] != ROOT
        if root in allowed or (in_stdlib and not (layer == "domain" and root in DOMAIN_IO)):
            continue
        bad.append(name)
    return bad


def modules_of(layer: str, root: Path = SRC) -> list[tuple[str, Path]]:
    found = []
    for path in sorted((root / layer).rglob("*.py")):
        parts = (ROOT, *path.relative_to(root).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((name, path))
    return found


def violations(layer: str, root: Path = SRC) -> dict[str, list[str]]:
    result = {}
    for module, path in modules_of(layer, root):
        bad = forbidden_imports(path.read_text(), module, path.name == "__init__.py")
        if bad:
            result[module] = bad
    return result


@pytest.mark.parametrize("layer", ["domain", "application"])
def test_layer_has_modules(layer: str) -> None:
    assert len(modules_of(layer)) >= 3


def test_domain_imports_only_itself_and_the_standard_library() -> None:
    assert violations("domain") == {}


def test_application_imports_only_domain_application_and_the_standard_library() -> None:
    assert violations("application") == {}


def test_a_bad_import_in_a_nested_module_is_reported(tmp_path: Path) -> None:
    package = tmp_path / "application" / "kv"
    package.mkdir(parents=True)
    (tmp_path / "application" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("from .. import ports\n")
    (package / "handlers.py").write_text("import re\nfrom kv_api.infrastructure.codec import E\n")
    assert violations("application", tmp_path) == {
        "kv_api.application.kv.handlers": ["kv_api.infrastructure.codec"]
    }


APP = "kv_api.application"
DOMAIN = "kv_api.domain"


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (f"{DOMAIN}.users", f"from {APP}.ports import Clock", [f"{APP}.ports"]),
        (f"{DOMAIN}.users", "import kv_api.infrastructure.codec", ["kv_api.infrastructure.codec"]),
        (f"{DOMAIN}.keys", "from kv_api.presentation import app", ["kv_api.presentation"]),
        (f"{DOMAIN}.keys", "import aiohttp.web", ["aiohttp.web"]),
        (f"{DOMAIN}.keys", "import msgpack", ["msgpack"]),
        (f"{DOMAIN}.keys", "from marshmallow import Schema", ["marshmallow"]),
        (f"{DOMAIN}.keys", "import asynctnt", ["asynctnt"]),
        (f"{DOMAIN}.keys", "import os", ["os"]),
        (f"{DOMAIN}.keys", "def f():\n    from subprocess import run\n", ["subprocess"]),
        (
            f"{APP}.kv.handlers",
            "from kv_api.infrastructure.codec import X",
            ["kv_api.infrastructure.codec"],
        ),
        (f"{APP}.kv.handlers", "from ...infrastructure import x", ["kv_api.infrastructure"]),
        (f"{APP}.kv.handlers", "from ....elsewhere import x", ["....elsewhere"]),
        (f"{APP}.users.login", "import orjson", ["orjson"]),
        (
            f"{APP}.users.login",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import jwt\n",
            ["jwt"],
        ),
    ],
)
def test_checker_catches_outward_imports(module: str, source: str, expected: list[str]) -> None:
    assert forbidden_imports(source, module) == expected


@pytest.mark.parametrize(
    ("module", "source"),
    [
        (f"{DOMAIN}.users", "import re\nfrom dataclasses import dataclass\nfrom .errors import E"),
        (f"{DOMAIN}.keys", f"from {DOMAIN} import errors\nfrom collections.abc import Mapping"),
        (f"{APP}.kv.handlers", f"from {DOMAIN}.keys import BatchLimits\nimport asyncio"),
        (f"{APP}.kv.handlers", "from ..ports import Session\nfrom . import commands"),
    ],
)
def test_checker_allows_inward_and_standard_library_imports(module: str, source: str) -> None:
    assert forbidden_imports(source, module) == []


def test_relative_imports_resolve_against_the_package() -> None:
    source = "from ..ports import Session\nfrom . import commands\nfrom .errors import E"
    assert imported_modules(source, f"{APP}.kv.handlers") == {
        f"{APP}.ports",
        f"{APP}.kv",
        f"{APP}.kv.errors",
    }
    assert imported_modules("from .errors import E", DOMAIN, is_package=True) == {
        f"{DOMAIN}.errors"
    }


# The composition root and the process entry points build infrastructure; every other
# presentation module gets what it needs injected, so it imports no adapter, setting or codec.
COMPOSITION_ROOT = {
    "kv_api.presentation.container",
    "kv_api.presentation.app",
    "kv_api.presentation.cli",
    "kv_api.presentation.admin",
    "kv_api.presentation.admin_users",
    "kv_api.presentation.admin_backup",
    "kv_api.presentation.server",
}


def infrastructure_imports(root: Path = SRC) -> dict[str, list[str]]:
    found = {}
    for module, path in modules_of("presentation", root):
        if module in COMPOSITION_ROOT:
            continue
        names = imported_modules(path.read_text(), module, path.name == "__init__.py")
        bad = sorted(n for n in names if _layer_of(n) == "infrastructure")
        if bad:
            found[module] = bad
    return found


def test_presentation_reaches_infrastructure_only_through_the_composition_root() -> None:
    assert infrastructure_imports() == {}


def test_checker_catches_a_route_importing_an_adapter(tmp_path: Path) -> None:
    routes = tmp_path / "presentation" / "routes"
    routes.mkdir(parents=True)
    (routes / "kv.py").write_text("from kv_api.infrastructure.codec import Decoder\n")
    (tmp_path / "presentation" / "container.py").write_text("import kv_api.infrastructure\n")
    assert infrastructure_imports(tmp_path) == {
        "kv_api.presentation.routes.kv": ["kv_api.infrastructure.codec"]
    }
