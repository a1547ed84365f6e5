"""Send the outbox messages that were never sent: the relay, once, now."""

from django.core.management.base import BaseCommand

from omni import outbox


class Command(BaseCommand):
    help = (
        "Send the work after the commit that was never sent (a process killed after its commit, a broker "
        "that was down). Without a broker the tasks run here. `make demo` runs it before serving."
    )

    def handle(self, *args, **options):
        sent = outbox.relay()
        if options["verbosity"]:
            self.stdout.write(f"outbox: {sent} message(s) sent")
