"""Limits on the files staff upload for imports (stock counts, receipts, social figures).

Every import, in the admin or through a command, checks the file here before
reading it: a known extension, a size under `IMPORT_MAX_BYTES`, and content
that looks like what the extension says (an XLSX file is a ZIP archive; a CSV
file is UTF-8 text without NUL bytes). A refused file raises `Invalid` with
the code `invalid_file`, before anything is parsed or written.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import IO, Any

from django import forms
from django.conf import settings
from import_export.forms import ImportForm

from omni.errors import Invalid

ALLOWED_EXTENSIONS = (".csv", ".xlsx")
ZIP_MAGIC = b"PK\x03\x04"


class InvalidFile(Invalid):
    code = "invalid_file"
    default_detail = "The file cannot be imported."


def max_bytes() -> int:
    return int(getattr(settings, "IMPORT_MAX_BYTES", 20 * 1024 * 1024))


def check_upload(
    name: str, size: int, head: bytes, *, allowed: Iterable[str] = ALLOWED_EXTENSIONS, limit: int | None = None
) -> str:
    """Check a file by its name, size and first bytes; return its lower-case extension.

    `head` is the start of the file (a few KiB are enough).
    """
    limit = max_bytes() if limit is None else limit
    suffix = PurePath(name or "").suffix.lower()
    allowed = tuple(allowed)
    if suffix not in allowed:
        raise InvalidFile(
            f"{name or 'The file'}: use a {' or '.join(allowed)} file.",
            {"file": [f"Only {', '.join(allowed)} files are accepted."]},
        )
    if size > limit:
        raise InvalidFile(
            f"{name} is {size:,} bytes; the limit is {limit:,}.",
            {"file": [f"The file is larger than {limit:,} bytes."]},
        )
    if size == 0:
        raise InvalidFile(f"{name} is empty.", {"file": ["The file is empty."]})
    if suffix == ".xlsx" and not head.startswith(ZIP_MAGIC):
        raise InvalidFile(f"{name} is not an Excel workbook.", {"file": ["The content is not an .xlsx workbook."]})
    if suffix == ".csv":
        if b"\x00" in head:
            raise InvalidFile(f"{name} is not a text file.", {"file": ["The content is not CSV text."]})
        try:
            # The head may end inside a multi-byte character: ignore an incomplete tail only.
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 3:
                raise InvalidFile(f"{name} is not UTF-8 text.", {"file": ["Save the CSV file as UTF-8."]}) from None
    return suffix


def check_uploaded_file(uploaded: IO[bytes] | object, **kwargs) -> str:
    """`check_upload` for a Django UploadedFile (or any file object with name and size); rewinds it."""
    name = getattr(uploaded, "name", "") or ""
    size = getattr(uploaded, "size", None)
    handle: Any = uploaded  # an UploadedFile, or any object with read, seek and tell
    head = handle.read(4096)
    handle.seek(0)
    if size is None:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(0)
    return check_upload(name, int(size), head, **kwargs)


def check_path(path: PurePath, **kwargs) -> str:
    """`check_upload` for a file on disk (the import commands)."""
    from pathlib import Path

    file = Path(path)
    with file.open("rb") as handle:
        head = handle.read(4096)
    return check_upload(file.name, file.stat().st_size, head, **kwargs)


class CheckedImportForm(ImportForm):
    """The admin's import form, refusing before any reading a file `check_uploaded_file` refuses.

    Set it as `import_form_class` on an admin with `ImportMixin`; the page
    shows the reason under the file field (error code ``invalid_file``).
    """

    def clean_import_file(self):
        uploaded = self.cleaned_data["import_file"]
        try:
            check_uploaded_file(uploaded)
        except InvalidFile as exc:
            raise forms.ValidationError(exc.detail, code=exc.code) from None
        return uploaded


def whole_number(value: object) -> int | None:
    """A spreadsheet cell read as a whole number: 12, "12", "12.0" and 12.0 give 12; anything else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)
