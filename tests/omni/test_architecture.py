"""Every module sits on a floor, and no app reaches another by name at run time (tests/architecture.py)."""

from __future__ import annotations

from pathlib import Path

from django.apps import apps

from tests import architecture

CONFIG = {
    "root_packages": ["shop", "sales"],
    "contracts": [{"type": "layers", "layers": ["sales", "shop.api : shop.errors"]}],
}


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_every_module_of_the_project_is_on_a_floor():
    assert architecture.modules_on_no_floor() == []


def test_a_module_no_layer_names_is_reported(tmp_path):
    root = write(
        tmp_path,
        {
            "shop/__init__.py": "",
            "shop/api/__init__.py": "",
            "shop/api/views.py": "",
            "shop/errors.py": "",
            "shop/uploads.py": "",
            "sales/__init__.py": "",
            "sales/models.py": "",
        },
    )
    # The root package's __init__ is named on no floor either: only OUTSIDE_THE_FLOORS may excuse it.
    assert architecture.modules_on_no_floor(root, CONFIG) == ["shop", "shop.uploads"]


def test_the_app_labels_are_django_s():
    for package, label in architecture.APP_LABELS.items():
        assert apps.get_app_config(label).name == package


def test_no_app_of_the_project_reaches_another_by_name():
    assert [str(finding) for finding in architecture.dynamic_lookups()] == []


def test_lookups_by_name_across_apps_are_reported_and_the_own_app_s_are_not(tmp_path):
    root = write(
        tmp_path,
        {
            "inventory/__init__.py": "",
            "inventory/services.py": (
                "import importlib.util\n"
                "from django.apps import apps\n"
                "OWN = apps.get_model('inventory', 'Stock')\n"
                "OWN_DOTTED = apps.get_model('inventory.Stock')\n"
                "CUSTOMER = apps.get_model('customers', 'Customer')\n"
                "HAS_XLSX = importlib.util.find_spec('openpyxl') is not None\n"
            ),
            "inventory/admin.py": (
                "from importlib import import_module\n"
                "from django.utils.module_loading import import_string\n"
                "def pick(request):\n"
                "    return apps.get_model(request.GET['app'], request.GET['model'])\n"
                "SEL = import_module('customers.selectors')\n"
                "HOME = import_string('inventory.selectors.available')\n"
            ),
            "inventory/migrations/__init__.py": "",
            "inventory/migrations/0002_fill.py": "def fill(apps, schema):\n    apps.get_model('customers', 'C')\n",
        },
    )
    found = [(f.path, f.line, f.why) for f in architecture.dynamic_lookups(root, ["inventory"])]
    assert found == [
        ("inventory/admin.py", 1, "imports importlib"),
        ("inventory/admin.py", 4, "get_model() may reach another app by name"),
        ("inventory/admin.py", 5, "import_module() may reach another app by name"),
        ("inventory/services.py", 5, "get_model() may reach another app by name"),
    ]


def test_nothing_but_omni_bulk_writes_with_copy():
    assert [str(finding) for finding in architecture.copy_writes()] == []


def test_a_copy_into_a_table_outside_omni_bulk_is_reported_and_a_copy_out_is_not(tmp_path):
    root = write(
        tmp_path,
        {
            "omni/__init__.py": "",
            "omni/bulk.py": "def load(cursor, sql):\n    cursor.copy(f'COPY {sql} FROM STDIN')\n",
            "omni/demo.py": (
                "def load(cursor, table):\n"
                "    with cursor.copy(f'COPY {table} (id) FROM STDIN') as c:\n"
                "        pass\n"
                "    with cursor.copy('copy orders from stdin') as c:\n"
                "        pass\n"
                "    with cursor.copy(f'COPY {table} TO STDOUT') as c:\n"
                "        pass\n"
                "    rows = {}.copy()\n"
                "    sql = f'COPY {table} FROM STDIN'\n"
                "    with cursor.copy(sql) as c:\n"
                "        pass\n"
                "    import copy\n"
                "    other = copy.copy(rows)\n"
            ),
        },
    )
    found = [(f.path, f.line) for f in architecture.copy_writes(root, ["omni"])]
    assert found == [("omni/demo.py", 2), ("omni/demo.py", 4), ("omni/demo.py", 10)]
