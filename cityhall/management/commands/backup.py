"""`make backup`: the database (pg_dump custom format) plus private files, in one tar archive."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

PG_BIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))


def pg_env(db: dict) -> dict:
    env = dict(os.environ)
    env.update(
        PGHOST=str(db["HOST"] or "127.0.0.1"), PGPORT=str(db["PORT"] or 5432), PGUSER=db["USER"]
    )
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


def file_roots() -> dict[str, Path]:
    """Directories whose files belong in a backup, by the name they take in the archive."""
    return {"private": Path(settings.PRIVATE_STORAGE_ROOT), "media": Path(settings.MEDIA_ROOT)}


class Command(BaseCommand):
    help = "Back up the database and uploaded/generated files (バックアップを作成します)"

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", help="archive path (default var/backups/machiba-<time>.tar)"
        )

    def handle(self, *args, **options):
        db = connection.settings_dict
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        output = Path(options["output"] or settings.VAR_DIR / "backups" / f"machiba-{stamp}.tar")
        output.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            dump = Path(tmp) / "database.dump"
            result = subprocess.run(
                [
                    str(PG_BIN / "pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--file",
                    str(dump),
                    db["NAME"],
                ],
                env=pg_env(db),
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
            manifest = {
                "created_at": timezone.now().isoformat(),
                "database": db["NAME"],
                "database_sha256": hashlib.sha256(dump.read_bytes()).hexdigest(),
            }
            partial = output.with_suffix(".partial")
            with tarfile.open(partial, "w") as archive:
                archive.add(dump, arcname="database.dump")
                for name, root in file_roots().items():
                    if root.exists():
                        archive.add(root, arcname=name)
                data = json.dumps(manifest, indent=2).encode()
                info = tarfile.TarInfo("manifest.json")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            # Only a complete archive carries the final name.
            partial.replace(output)
        self.stdout.write(f"backup written: {output}")
        return None
