"""Import a stock count file (CSV or XLSX), all or nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inventory import services
from inventory.importing import dataset_from_file, rows_of
from omni.actor import SYSTEM
from omni.errors import Invalid


class Command(BaseCommand):
    help = (
        "Set on hand from a count file with the columns location,sku,on_hand[,reason]. "
        "Any bad row stops the whole file; --dry-run shows what would change."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Check and show the changes; write nothing.")

    def handle(self, *args, file: Path, dry_run: bool, **options):
        if not file.is_file():
            raise CommandError(f"No file {file}.")
        try:
            rows = rows_of(dataset_from_file(file))
        except Invalid as exc:
            raise CommandError(exc.detail)
        except Exception as exc:  # an unreadable file: tablib's and openpyxl's errors vary
            raise CommandError(f"Cannot read {file.name}: {exc}")
        try:
            outcomes = services.count_many(rows, actor=SYSTEM, dry_run=dry_run)
        except services.CountFileInvalid as exc:
            for line, fields in sorted(exc.row_errors.items()):
                for name, messages in fields.items():
                    self.stderr.write(f"row {line}, {name}: {'; '.join(messages)}")
            raise CommandError(exc.detail)
        changed = sum(1 for o in outcomes if o.before != o.on_hand)
        for outcome in outcomes:
            if outcome.before != outcome.on_hand and options["verbosity"] > 1:
                before = "new" if outcome.before is None else outcome.before
                self.stdout.write(f"{outcome.location} {outcome.sku}: {before} -> {outcome.on_hand}")
        verb = "would change" if dry_run else "changed"
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(outcomes)} row(s) counted, {changed} {verb}" + (" (dry run)." if dry_run else ".")
            )
        )
