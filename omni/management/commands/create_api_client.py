"""Create an API client and print its key (shown once, on the last line)."""

from django.core.management.base import BaseCommand, CommandError

from omni.api.keys import create_client
from omni.models import ALL_SCOPES, ApiClient


class Command(BaseCommand):
    help = "Create an API client with the given scopes and print its key, once, on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name", help="A name for the client, e.g. 'web-shop'.")
        parser.add_argument(
            "--scope", action="append", default=[], choices=ALL_SCOPES, help="A scope; repeat for several."
        )
        parser.add_argument("--all-scopes", action="store_true", help="Every scope.")
        parser.add_argument("--rate-limit", default="", help='Requests allowed, e.g. "600/min".')

    def handle(self, *args, name, scope, all_scopes, rate_limit, **options):
        scopes = list(ALL_SCOPES) if all_scopes else scope
        if not scopes:
            raise CommandError("Give at least one --scope, or --all-scopes.")
        if ApiClient.objects.filter(name=name).exists():
            raise CommandError(f"An API client named {name!r} exists.")
        if rate_limit:
            from omni.api.throttling import ClientRateThrottle

            try:
                ClientRateThrottle.parse_rate(None, rate_limit)
            except (ValueError, KeyError) as exc:
                raise CommandError(f"Rate limit {rate_limit!r} is not like '600/min'.") from exc
        client, key = create_client(name=name, scopes=scopes, rate_limit=rate_limit)
        self.stderr.write(f"API client {client.name!r} created with scopes: {', '.join(client.scopes)}.")
        self.stderr.write("The key is shown once; only its hash is kept.")
        self.stdout.write(key)
