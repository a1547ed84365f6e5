"""Retention: take the monthly partitions before a month out of the database, archived first."""

from datetime import date, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from omni import partitioning


def month(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise CommandError(f"--before wants a month as YYYY-MM, not {text!r}")


class Command(BaseCommand):
    help = (
        "Detach every monthly partition before --before (YYYY-MM) from the partitioned tables "
        f"({', '.join(t.table for t in partitioning.TABLES)}). With --archive DIR each partition is first "
        "written to DIR/<partition>.csv (CSV with a header) and dropped once detached; without it the "
        "detached partitions stay as plain tables. --dry-run lists them and their rows, changing nothing. "
        "PostgreSQL only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--before", required=True, type=month, help="First month to keep, YYYY-MM.")
        parser.add_argument("--archive", type=Path, help="Folder for the CSV archives; the partitions are dropped.")
        parser.add_argument("--dry-run", action="store_true", help="List what would be detached, change nothing.")
        parser.add_argument(
            "--table",
            action="append",
            choices=[t.table for t in partitioning.TABLES],
            help="Only this table (repeatable); every partitioned table by default.",
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Partitions exist on PostgreSQL only; on this database the tables are plain.")
        done = partitioning.detach_before(
            options["before"], archive=options["archive"], dry_run=options["dry_run"], tables=options["table"]
        )
        verb = "would detach" if options["dry_run"] else "detached"
        for item in done:
            where = f" -> {item.archive}" if item.archive else ""
            self.stdout.write(f"{verb} {item.partition} ({item.rows} rows){where}")
        if not done:
            self.stdout.write(f"nothing before {options['before']:%Y-%m}")
