"""Check that every stock row equals the sum of its movements (there must be no difference)."""

from django.core.management.base import BaseCommand, CommandError

from inventory.selectors import ledger_differences


class Command(BaseCommand):
    help = "Verify that on hand, reserved and quarantined of every stock row equal the sums of the stock ledger."

    def handle(self, *args, **options):
        differences = ledger_differences()
        for d in differences:
            self.stdout.write(
                f"{d.location} {d.sku}: on hand {d.on_hand} (ledger {d.on_hand_from_ledger}), "
                f"reserved {d.reserved} (ledger {d.reserved_from_ledger}), "
                f"quarantined {d.quarantined} (ledger {d.quarantined_from_ledger})"
            )
        if differences:
            raise CommandError(f"{len(differences)} stock row(s) differ from the stock ledger.")
        self.stdout.write(self.style.SUCCESS("Every stock row matches the stock ledger."))
