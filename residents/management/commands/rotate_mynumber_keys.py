"""Re-encrypt every My Number, and everything else sealed with the same keys (certificates), under
the first key of MACHIBA_MYNUMBER_KEYS.

Rotation: put the new key first (keep the old one listed), run this command, then drop the old key.
Safe to run again: rows already under the first key are skipped.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from residents.services import KEY_ROTATION_HOOKS, rotate_mynumber_keys


class Command(BaseCommand):
    help = "個人番号を最新の鍵で再暗号化します (re-encrypt My Numbers with the first key)"

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, **options):
        count = rotate_mynumber_keys(batch_size=options["batch_size"])
        self.stdout.write(f"re-encrypted {count} My Number(s)")
        # Documents sealed with the same keys (certificates, …): each app's own hook.
        for hook in KEY_ROTATION_HOOKS:
            done = hook(batch_size=options["batch_size"])
            self.stdout.write(f"{hook.__module__}.{hook.__name__}: re-sealed {done}")
