"""Reading stock count files (CSV, XLSX) into rows for services.count_many.

Shared by the admin import and the `import_stock` command, so both accept the
same columns: location, sku, on_hand, reason (optional).
"""

from __future__ import annotations

from pathlib import Path

import tablib

from inventory.services import CountRow
from omni.errors import Invalid
from omni.uploads import check_path

COLUMNS = ("location", "sku", "on_hand", "reason")
REQUIRED_COLUMNS = ("location", "sku", "on_hand")


def rows_of(dataset: tablib.Dataset) -> list[CountRow]:
    """The dataset's lines as CountRow; line numbers count the header as line 1, as a spreadsheet does."""
    headers = [str(h or "").strip().lower() for h in (dataset.headers or [])]
    missing = [name for name in REQUIRED_COLUMNS if name not in headers]
    if missing:
        raise Invalid(
            f"The file needs the columns {', '.join(COLUMNS)}; missing: {', '.join(missing)}.",
            {"file": [f"Missing column(s): {', '.join(missing)}."]},
        )
    index = {name: headers.index(name) for name in COLUMNS if name in headers}
    rows = []
    for number, values in enumerate(dataset, start=2):
        if all(value in (None, "") for value in values):
            continue  # blank lines at the end of a spreadsheet
        rows.append(
            CountRow(
                line=number,
                location=values[index["location"]],
                sku=values[index["sku"]],
                on_hand=values[index["on_hand"]],
                reason=values[index["reason"]] if "reason" in index else "",
            )
        )
    return rows


def dataset_from_file(path: Path) -> tablib.Dataset:
    """Load a .csv or .xlsx file (XLSX needs openpyxl installed); a file `check_path` refuses is not read."""
    suffix = check_path(path)
    if suffix == ".csv":
        return tablib.Dataset().load(path.read_text(encoding="utf-8-sig"), format="csv")
    if suffix == ".xlsx":
        with path.open("rb") as handle:
            return tablib.Dataset().load(handle, format="xlsx")
    raise Invalid(f"Cannot read {path.name}: use a .csv or .xlsx file.", {"file": ["Use .csv or .xlsx."]})
