"""Import a file of POS receipts (CSV or XLSX), all or nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from omni.actor import SYSTEM
from omni.errors import Invalid
from omni.orders.receipts import COLUMNS, ReceiptFileInvalid, record_receipts, rows_from_bytes
from omni.uploads import check_path


class Command(BaseCommand):
    help = (
        f"Record POS receipts from a file with the columns {','.join(COLUMNS)} (card optional), one row per "
        "receipt line. Any bad row stops the whole file; receipts imported before are skipped; "
        "--dry-run checks and prices the file and writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Check and show the receipts; write nothing.")

    def handle(self, *args, file: Path, dry_run: bool, **options):
        if not file.is_file():
            raise CommandError(f"No file {file}.")
        try:
            suffix = check_path(file)
            rows = rows_from_bytes(file.read_bytes(), suffix)
        except Invalid as exc:
            raise CommandError(exc.detail)
        except Exception as exc:  # an unreadable file: csv's, tablib's and openpyxl's errors vary
            raise CommandError(f"Cannot read {file.name}: {exc}")
        verbose = options["verbosity"] > 0

        def progress(done: int, total: int) -> None:
            if verbose:
                self.stdout.write(f"{done}/{total} lines")

        try:
            result = record_receipts(rows, actor=SYSTEM, dry_run=dry_run, progress=progress)
        except ReceiptFileInvalid as exc:
            for line, fields in sorted(exc.row_errors.items()):
                for name, messages in fields.items():
                    self.stderr.write(f"row {line}, {name}: {'; '.join(messages)}")
            raise CommandError(exc.detail)
        for shortfall in result.shortfalls:
            where = "beyond the stock on file" if shortfall.beyond_on_hand else "held for orders"
            self.stdout.write(
                self.style.WARNING(
                    f"row {shortfall.line}: {shortfall.units} unit(s) of {shortfall.sku} at {shortfall.store} "
                    f"sold {where}: count that shelf."
                )
            )
        for skipped in result.skipped:
            if options["verbosity"] > 1:
                self.stdout.write(f"receipt {skipped.receipt}: already imported as {skipped.order_number}")
        verb = "would be recorded" if dry_run else "recorded"
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(result.imported)} receipt(s) with {result.line_count} line(s) {verb}, "
                f"{len(result.skipped)} already imported" + (" (dry run)." if dry_run else ".")
            )
        )
