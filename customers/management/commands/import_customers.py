"""python manage.py import_customers FILE [--dry-run] [--good-rows-only --rejects OUT]."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from customers import moving_in
from omni.errors import Invalid
from omni.uploads import check_path


class Command(BaseCommand):
    help = (
        "Import customers (profile, identifiers, consents, loyalty card, opening points) from a CSV or XLSX file "
        "of another system; see the README's Moving in section for the columns. All or nothing unless "
        "--good-rows-only."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Check and preview every row; write nothing.")
        parser.add_argument(
            "--good-rows-only", action="store_true", help="Import the good rows even if some rows are wrong."
        )
        parser.add_argument("--rejects", type=Path, help="Write the wrong rows here, with an error column, to fix.")

    def handle(self, *args, file: Path, dry_run: bool, good_rows_only: bool, rejects: Path | None, **options):
        if good_rows_only and rejects is None:
            raise CommandError("--good-rows-only needs --rejects OUT: the file the wrong rows are written to.")
        try:
            suffix = check_path(file)
            rows = moving_in.rows_from_dataset(moving_in.dataset_from_bytes(file.read_bytes(), suffix))
        except (OSError, Invalid) as exc:
            raise CommandError(str(getattr(exc, "detail", exc))) from exc
        try:
            report = moving_in.import_customers(rows, dry_run=dry_run, partial=good_rows_only)
        except moving_in.ImportRejected as exc:
            report = exc.report
        if rejects is not None and report.error_rows:
            rejects.write_text(moving_in.rejects_csv(rows, report), encoding="utf-8")
        verbose = int(options.get("verbosity", 1))
        for outcome in report.rows:
            if outcome.status == moving_in.ERROR or (verbose > 1 and outcome.status != moving_in.UNCHANGED):
                detail = moving_in.describe(outcome)
                self.stdout.write(f"line {outcome.line} {outcome.external_id}: {outcome.status} {detail}".rstrip())
        counts = {status: report.count(status) for status in ("new", "updated", "merge", "unchanged", "error")}
        summary = ", ".join(f"{count} {status}" for status, count in counts.items())
        if dry_run:
            self.stdout.write(f"Dry run, nothing written: {summary}.")
        elif report.applied:
            self.stdout.write(self.style.SUCCESS(f"Imported: {summary}."))
        if report.error_rows and not report.applied and not dry_run:
            where = f" (written to {rejects})" if rejects else ""
            raise CommandError(f"{len(report.error_rows)} row(s) to correct{where}: nothing was imported.")
