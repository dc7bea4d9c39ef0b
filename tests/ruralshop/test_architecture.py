"""The dependency rules of docs/DESIGN.md hold: arrows point one way, no cycle, no import hidden in a function.

The contract itself is in pyproject.toml ([tool.importlinter]), checked by
``lint-imports``; an import inside a function is invisible to no one but the
reader (import-linter counts it like any other), so a separate check keeps
them from becoming the way round a cycle.
"""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The root packages of the contract.
APPS = ("ruralshop", "accounts", "partners", "notifications", "catalog", "orders", "logistics", "county")


def lint_imports(*config: str) -> subprocess.CompletedProcess:
    program = Path(sys.executable).with_name("lint-imports")
    program = str(program) if program.exists() else shutil.which("lint-imports")
    if program is None:
        pytest.skip("needs import-linter (requirements-dev.txt)")
    return subprocess.run(
        [program, "--no-cache", "--no-logo", *config], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_the_import_contract_of_pyproject_toml_is_kept():
    result = lint_imports()

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_lint_imports_really_finds_an_upward_import(tmp_path):
    # given the layers upside down (partners on top): every import of partners from orders is now upward
    config = tmp_path / "upside-down.toml"
    config.write_text(
        "[tool.importlinter]\n"
        f"root_packages = {list(APPS)!r}\n"
        "[[tool.importlinter.contracts]]\n"
        'name = "upside down"\ntype = "layers"\nlayers = ["partners", "orders", "logistics"]\n'
    )

    result = lint_imports(str(config))

    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout and "orders is not allowed to import partners" in result.stdout


# Imports of a project module inside a function, each with its reason.  A new one fails the test: import
# at the top of the module, or if that would close a cycle, fix the cycle (a signal or a registered hook
# for a lower app, a task queued by name) instead.  AppConfig.ready() is exempt: Django's place for
# imports that need the app registry (signal receivers, schema extensions).
KNOWN_FUNCTION_IMPORTS = {
    # Django's custom session pair (AbstractBaseSession): the engine module is loaded from SESSION_ENGINE,
    # the model names its store, the store its model.
    ("accounts/models.py", ".sessions"): "cycle models <-> sessions (Django's session engine API)",
    ("accounts/sessions.py", ".models"): "cycle models <-> sessions (Django's session engine API)",
}


def function_level_imports() -> set[tuple[str, str]]:
    """(file, module) of every import of a project module inside a function of the apps (migrations aside)."""
    found = set()
    for package in APPS:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                if function.name == "ready" and path.name == "apps.py":
                    continue
                for node in ast.walk(function):
                    for module in imported_project_modules(node):
                        found.add((path.relative_to(ROOT).as_posix(), module))
    return found


def imported_project_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        module = "." * node.level + (node.module or "")
        return [module] if node.level or module.split(".")[0] in APPS else []
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] in APPS]
    return []


def test_no_function_imports_a_project_module_but_the_known_ones():
    found = function_level_imports()

    assert found - KNOWN_FUNCTION_IMPORTS.keys() == set(), "import these at the top of the module (see above)"
    assert KNOWN_FUNCTION_IMPORTS.keys() - found == set(), "gone: remove them from KNOWN_FUNCTION_IMPORTS"


def test_the_function_import_check_sees_one():
    tree = ast.parse("def f():\n    from orders.models import Order\n    import json\n")

    assert [m for node in ast.walk(tree) for m in imported_project_modules(node)] == ["orders.models"]
