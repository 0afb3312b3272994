"""`make restore FILE=…`: restore a backup archive into an empty database and the file roots."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from .backup import PG_BIN, file_roots, pg_env


class Command(BaseCommand):
    help = "Restore a backup into an empty database (空のデータベースへ復元します)"

    def add_arguments(self, parser):
        parser.add_argument("archive")
        parser.add_argument(
            "--database", help="target database (default: the configured one); must be empty"
        )
        parser.add_argument("--skip-files", action="store_true", help="restore the database only")

    def handle(self, *args, **options):
        db = dict(connection.settings_dict)
        target = options["database"] or db["NAME"]
        env = pg_env(db)
        psql = [str(PG_BIN / "psql"), "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1"]
        exists = subprocess.run(
            psql
            + ["-d", "postgres", "-c", f"SELECT 1 FROM pg_database WHERE datname = '{target}'"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if not exists:
            subprocess.run(
                psql + ["-d", "postgres", "-c", f'CREATE DATABASE "{target}"'],
                env=env,
                check=True,
                capture_output=True,
            )
        tables = subprocess.run(
            psql
            + [
                "-d",
                target,
                "-c",
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'spatial_ref_sys'",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if tables != "0":
            raise CommandError(
                f"データベース {target} は空ではありません（{tables} 表）。空のデータベースを指定してください。 / "
                f"Database {target} is not empty ({tables} tables); restore needs an empty database."
            )
        with tempfile.TemporaryDirectory() as tmp, tarfile.open(options["archive"]) as archive:
            archive.extractall(tmp, filter="data")
            manifest = json.loads((Path(tmp) / "manifest.json").read_text())
            dump = Path(tmp) / "database.dump"
            if hashlib.sha256(dump.read_bytes()).hexdigest() != manifest["database_sha256"]:
                raise CommandError("バックアップが壊れています / The backup archive is corrupt")
            result = subprocess.run(
                [
                    str(PG_BIN / "pg_restore"),
                    "--no-owner",
                    "--exit-on-error",
                    "-d",
                    target,
                    str(dump),
                ],
                env=env,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise CommandError(f"pg_restore failed: {result.stderr.strip()}")
            if not options["skip_files"]:
                for name, root in file_roots().items():
                    source = Path(tmp) / name
                    if source.exists():
                        shutil.copytree(source, root, dirs_exist_ok=True)
        self.stdout.write(f"restored {options['archive']} into {target}")
