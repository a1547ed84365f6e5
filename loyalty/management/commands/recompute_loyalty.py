"""Recompute every loyalty balance from the ledger and report any difference."""

from django.core.management.base import BaseCommand, CommandError

from loyalty import store_credit
from loyalty.services import recompute_balances


class Command(BaseCommand):
    help = "Check every account's balance and debt against its ledger and lots; --fix rewrites them from the ledger."

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Set stored balances to what the ledger says.")

    def handle(self, *args, fix: bool, **options):
        differences = recompute_balances(fix=fix)
        for d in differences:
            self.stdout.write(
                f"account {d.account_id}: balance {d.stored_balance} (ledger {d.ledger_balance}), "
                f"debt {d.stored_debt} (ledger {d.ledger_debt}), lots {d.lots_remaining}"
            )
        credit = store_credit.differences()
        for pk, stored, ledger in credit:
            self.stdout.write(f"store credit {pk}: balance {stored} (ledger {ledger})")
        if (differences and not fix) or credit:
            raise CommandError(f"{len(differences) + len(credit)} balance(s) differ from their ledger.")
        self.stdout.write(f"Checked: {len(differences)} difference(s){' fixed' if fix and differences else ''}.")
