"""Builds the demo city: accounts, residents, map layers, procedures and bills.

Every app contributes steps in its `seed.py`; running the command again adds nothing twice.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.utils.module_loading import autodiscover_modules

from cityhall.seeding import SeedContext, steps


class Command(BaseCommand):
    help = "Create the deterministic demo city (デモ用の市のデータを作成します)"

    def add_arguments(self, parser):
        parser.add_argument("--residents", type=int, default=2000, help="number of residents")
        parser.add_argument("--parcels", type=int, default=10000, help="number of parcels")
        parser.add_argument("--seed", type=int, default=20261123, help="random seed")

    def handle(self, *args, **options):
        autodiscover_modules("seed")
        ctx = SeedContext(
            residents=options["residents"],
            parcels=options["parcels"],
            stdout=self.stdout,
            seed=options["seed"],
        )
        for _order, name, func in steps():
            started = time.perf_counter()
            func(ctx)
            self.stdout.write(f"seed_demo: {name} done in {time.perf_counter() - started:.1f}s")
        from cityhall.seed import DEMO_PASSWORD

        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for role, email, note in ctx.logins:
            self.stdout.write(f"  {role:<10} {email:<30} {note}")
