"""Create or update the staff roles (groups and their permissions)."""

from django.core.management.base import BaseCommand

from omni.roles import setup_roles


class Command(BaseCommand):
    help = "Create or update the groups Store staff, Store managers, Logistics, Marketing and Head office."

    def handle(self, *args, **options):
        for name, count in setup_roles().items():
            self.stdout.write(f"{name}: {count} permissions")
