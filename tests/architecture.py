"""Three checks on the architecture of DESIGN.md that import-linter cannot make by itself.

1. Every module of the project sits on a floor: it is named, or inside a package named, in the
   layers contract of pyproject.toml, or it is one of the few modules of OUTSIDE_THE_FLOORS, each
   with its reason. A new module no contract names would otherwise escape every floor unnoticed.
2. No module reaches another app by name at run time, around the import graph import-linter
   reads: ``apps.get_model``, ``importlib.import_module``, ``__import__`` and ``import_string``
   are allowed only with a literal naming the module's own app. Migrations are left out (Django
   hands them historical models through ``apps.get_model``), and ``importlib.util.find_spec``
   (is an optional library such as openpyxl installed?) is fine everywhere.
3. One module writes with COPY: ``omni/bulk.py``. A ``.copy(...)`` call whose statement says
   ``COPY ... FROM`` anywhere else in the project is reported (``COPY ... TO``, a read, is fine;
   bench/ measures a COPY floor and is not part of the project's packages).

Run by ``make lint`` as ``python -m tests.architecture``; tests/omni/test_architecture.py runs
the same functions and proves that each check catches what it must.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Modules that belong to no floor, on purpose.
OUTSIDE_THE_FLOORS = {
    # The package itself: its __init__ only loads the Celery app when Django starts (Celery's
    # Django layout). Every module inside it sits on a floor of its own.
    "omni": "the project package's __init__, which loads the Celery app",
}

# The app that owns each package (its Django app label): a dynamic lookup inside the own app is fine.
APP_LABELS = {
    "omni.catalog": "catalog",
    "omni.orders": "orders",
    "omni.webhooks": "webhooks",
    "omni": "omni",
    "customers": "customers",
    "loyalty": "loyalty",
    "inventory": "inventory",
    "returns": "returns",
    "kpis": "kpis",
}

# Calls that name a model or a module by a string, whatever object they are called on.
DYNAMIC_LOOKUPS = {"get_model", "import_module", "__import__", "import_string"}

# Dynamic lookups that must stay, each with its reason: (path, line text stripped) -> reason.
ALLOWED_LOOKUPS: dict[tuple[str, str], str] = {
    ("customers/sms/__init__.py", "return import_string(chosen)()"): (
        "the SMS backend is a setting (SMS_BACKEND), as Django's EMAIL_BACKEND: a provider's class, not an app"
    ),
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    text: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.why}: {self.text}"


def contract_config(pyproject: Path = ROOT / "pyproject.toml") -> dict:
    with pyproject.open("rb") as handle:
        return tomllib.load(handle)["tool"]["importlinter"]


def layered_names(config: dict) -> set[str]:
    """Every module or package a layers contract names, one floor's siblings split apart."""
    names: set[str] = set()
    for contract in config.get("contracts", []):
        if contract.get("type") != "layers":
            continue
        for layer in contract["layers"]:
            for part in layer.replace("|", ":").split(":"):
                if part.strip():
                    names.add(part.strip())
    return names


def project_modules(root: Path, packages: Iterable[str]) -> Iterator[tuple[str, Path]]:
    """(dotted name, path) of every Python module of the root packages, migrations included."""
    for package in packages:
        for path in sorted((root / package.replace(".", "/")).rglob("*.py")):
            relative = path.relative_to(root).with_suffix("")
            parts = list(relative.parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


def is_within(module: str, name: str) -> bool:
    return module == name or module.startswith(name + ".")


def modules_on_no_floor(root: Path = ROOT, config: dict | None = None) -> list[str]:
    config = config if config is not None else contract_config(root / "pyproject.toml")
    layered = layered_names(config)
    return [
        module
        for module, _path in project_modules(root, config["root_packages"])
        # A name outside the floors covers that one module, not the modules inside it.
        if module not in OUTSIDE_THE_FLOORS and not any(is_within(module, name) for name in layered)
    ]


def app_label_of(module: str) -> str | None:
    owners = [package for package in APP_LABELS if is_within(module, package)]
    return APP_LABELS[max(owners, key=len)] if owners else None


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _stays_in_own_app(name: str, call: ast.Call, own_label: str | None, own_package: str | None) -> bool:
    first = _literal(call.args[0]) if call.args else None
    if first is None:
        return False  # named at run time: it could be any app
    if name == "get_model":
        label = first.split(".")[0] if len(call.args) == 1 else first
        return label == own_label
    return own_package is not None and is_within(first, own_package)


def dynamic_lookups(root: Path = ROOT, packages: Iterable[str] | None = None) -> list[Finding]:
    packages = list(packages if packages is not None else contract_config(root / "pyproject.toml")["root_packages"])
    findings = []
    for module, path in project_modules(root, packages):
        if ".migrations" in f".{module}.":
            continue
        relative = str(path.relative_to(root))
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        own_label = app_label_of(module)
        own_package = next((p for p, label in APP_LABELS.items() if label == own_label), None)
        for node in ast.walk(ast.parse(source, filename=relative)):
            if isinstance(node, ast.Import | ast.ImportFrom):
                imported = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                if isinstance(node, ast.ImportFrom) and node.module == "importlib":
                    imported = [f"importlib.{a.name}" for a in node.names]
                bad = [name for name in imported if name == "importlib" or name == "importlib.import_module"]
                if bad:
                    findings.append(Finding(relative, node.lineno, lines[node.lineno - 1].strip(), "imports importlib"))
                continue
            if not isinstance(node, ast.Call):
                continue
            name = _called_name(node)
            if name not in DYNAMIC_LOOKUPS or _stays_in_own_app(name, node, own_label, own_package):
                continue
            text = lines[node.lineno - 1].strip()
            if (relative, text) in ALLOWED_LOOKUPS:
                continue
            findings.append(Finding(relative, node.lineno, text, f"{name}() may reach another app by name"))
    return sorted(findings, key=lambda f: (f.path, f.line))


# The one module that may write with COPY.
COPY_HOME = "omni/bulk.py"


def copy_writes(root: Path = ROOT, packages: Iterable[str] | None = None) -> list[Finding]:
    """``.copy(...)`` calls that write with ``COPY ... FROM`` outside omni/bulk.py."""
    packages = list(packages if packages is not None else contract_config(root / "pyproject.toml")["root_packages"])
    findings = []
    for _module, path in project_modules(root, packages):
        relative = str(path.relative_to(root))
        if relative == COPY_HOME:
            continue
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source, filename=relative)):
            if not isinstance(node, ast.Call) or _called_name(node) != "copy" or not node.args:
                continue  # dict.copy(), list.copy()
            if isinstance(node.func, ast.Attribute) and ast.unparse(node.func.value) == "copy":
                continue  # the copy module: copy.copy(obj)
            # A statement written out is judged by what it says (COPY ... TO is a read); one held in a
            # variable cannot be read here, so it counts as a write.
            statement = ast.unparse(node.args[0]).upper()
            is_read = "COPY" in statement and " TO " in f" {statement} " and " FROM " not in f" {statement} "
            if not is_read:
                text = lines[node.lineno - 1].strip()
                findings.append(Finding(relative, node.lineno, text, "writes with COPY outside omni/bulk.py"))
    return sorted(findings, key=lambda f: (f.path, f.line))


def main() -> int:
    failed = False
    for module in modules_on_no_floor():
        failed = True
        print(f"{module}: on no floor: name it in a layer of [tool.importlinter] in pyproject.toml", file=sys.stderr)
    for finding in dynamic_lookups():
        failed = True
        print(f"{finding}: import the app (if its floor allows) or turn the call around", file=sys.stderr)
    for finding in copy_writes():
        failed = True
        print(f"{finding}: write through omni.bulk (insert_rows, BackgroundCopy)", file=sys.stderr)
    if not failed:
        print("architecture: every module is on a floor; no app is reached by name; only omni/bulk.py copies")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
