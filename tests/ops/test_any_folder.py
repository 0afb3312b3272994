"""`make run` from a fresh clone in a folder only its owner may enter (mode 0700, such as root's
home), as a new user would: the cluster lives where PostgreSQL's user can reach it, the services
run as the `machiba` user through ACL entries, the start is quiet, `make stop` stops it and a
second `make run` finds the same cluster again."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ops_helpers import ROOT, free_port, wait_for

# pip's own HTTP cache would make the clone's install quick, but a package mirror that sends no
# cache headers (as this machine's does) leaves it empty: the wheels of requirements.lock are
# kept here instead, fetched once, and the clone installs from them without the network.
WHEELHOUSE = ROOT / "var" / "cache" / "wheels"
URL_LINE = "Machiba is starting at "


def fill_wheelhouse() -> None:
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    wanted = ["-r", str(ROOT / "requirements.lock"), "pip>=24", "setuptools>=77,<81"]
    pip = [sys.executable, "-m", "pip", "download", "-q", "--dest", str(WHEELHOUSE)]
    local = subprocess.run(
        [*pip, "--no-index", "--find-links", str(WHEELHOUSE), *wanted], capture_output=True
    )
    if local.returncode != 0:
        subprocess.run([*pip, *wanted], check=True, capture_output=True, timeout=1800)


def clean_env(*, port: int, pg_port: int, redis_port: int) -> dict[str, str]:
    """The environment of a new user's shell: nothing of this test run (its settings, database,
    venv) leaks into the clone."""
    leaks = ("DJANGO_", "DATABASE_URL", "REDIS_", "MACHIBA_", "CELERY_", "PROMETHEUS_", "PYTEST")
    env = {k: v for k, v in os.environ.items() if not k.startswith(leaks)}
    env.pop("VIRTUAL_ENV", None)
    venv_bin = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != venv_bin)
    env.update(
        PORT=str(port),
        MACHIBA_PG_PORT=str(pg_port),
        MACHIBA_REDIS_PORT=str(redis_port),
        PIP_FIND_LINKS=str(WHEELHOUSE),
        PIP_NO_INDEX="1",
    )
    return env


class MakeRun:
    """`make run` in the background, its output read line by line as it comes."""

    def __init__(self, checkout: Path, env: dict[str, str]):
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            ["make", "run"],
            cwd=checkout,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def lines_before_url(self, timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            if line.startswith(URL_LINE):
                before = list(self.lines)
                self.lines.append(line)
                threading.Thread(target=self._drain, daemon=True).start()
                return before
            self.lines.append(line)
        raise AssertionError("make run printed no URL:\n" + "\n".join(self.lines[-40:]))

    def _drain(self) -> None:
        while (line := self._queue.get()) is not None:
            self.lines.append(line)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def service_users(checkout: Path) -> set[str]:
    """Who runs the processes started from the clone's .venv (gunicorn, worker, beat)."""
    import pwd

    users = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            uid = (proc / "status").stat().st_uid
        except OSError:
            continue
        if f"{checkout}/.venv/bin/python" in cmdline and (
            "gunicorn" in cmdline or "celery" in cmdline
        ):
            users.add(pwd.getpwuid(uid).pw_name)
    return users


def make_stop(checkout: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "stop"], cwd=checkout, env=env, capture_output=True, text=True, timeout=180
    )


@pytest.mark.timeout(3600)
def test_make_run_from_a_fresh_clone_in_a_0700_folder():
    started = time.monotonic()

    def phase(name: str) -> None:
        # Shown when the test fails (or with -s): where a slow machine spends its time.
        print(f"0700 test: {name} after {time.monotonic() - started:.0f} s")

    fill_wheelhouse()
    phase("wheelhouse ready")
    folder = Path(tempfile.mkdtemp(prefix="machiba-0700-", dir=Path.home()))
    assert folder.stat().st_mode & 0o777 == 0o700
    checkout = folder / "machiba"
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(checkout)], check=True)
    subprocess.run(["git", "-C", str(checkout), "checkout", "-q", "--detach", head], check=True)
    port, pg_port, redis_port = free_port(), free_port(), free_port()
    env = clean_env(port=port, pg_port=pg_port, redis_port=redis_port)
    health = f"http://127.0.0.1:{port}/healthz?part=database"
    runs: list[MakeRun] = []
    cluster_home: Path | None = None
    try:
        first = MakeRun(checkout, env)
        runs.append(first)
        before = first.lines_before_url(timeout=2400)
        phase("first make run printed its URL")
        # The URL line follows what came before it; the demo logins printed after it may
        # already be read in by the time this runs, so the last line is not the place to look.
        assert first.lines[len(before)].startswith(f"{URL_LINE}http://127.0.0.1:{port}/")
        # What was installed, the services' addresses and the URL; no pip, no WeasyPrint.
        assert len(before) <= 20, "\n".join(before)
        assert not [line for line in before if "Permission denied" in line], before
        assert wait_for(lambda: http_status(health) == 200, 300, interval=1)
        phase("first make run answered /healthz?part=database")

        pg = checkout / "var" / "pg"
        if os.geteuid() == 0:
            # As root: the cluster under /var/lib/machiba/<hash>, the services as `machiba`.
            assert pg.is_symlink()
            cluster_home = pg.resolve().parent
            assert cluster_home.parent == Path("/var/lib/machiba")
            assert (cluster_home / "checkout").read_text().strip() == str(checkout / "var")
            assert service_users(checkout) == {"machiba"}
        else:
            assert pg.is_dir() and not pg.is_symlink()
        cluster = pg.resolve()

        stopped = make_stop(checkout, env)
        assert stopped.returncode == 0, stopped.stderr
        assert first.process.wait(timeout=120) == 0
        assert http_status(health) == 0
        assert not (cluster / "postmaster.pid").exists()

        phase("make stop")
        second = MakeRun(checkout, env)
        runs.append(second)
        again = second.lines_before_url(timeout=1200)
        assert not [line for line in again if "creating" in line or "installed" in line], again
        assert pg.resolve() == cluster
        assert wait_for(lambda: http_status(health) == 200, 300, interval=1)
        assert make_stop(checkout, env).returncode == 0
        assert second.process.wait(timeout=120) == 0
        phase("second make run answered and stopped")
    finally:
        for run in runs:
            if run.process.poll() is None:
                make_stop(checkout, env)
                run.kill()
        if cluster_home is None and (checkout / "var" / "pg").is_symlink():
            cluster_home = (checkout / "var" / "pg").resolve().parent
        # rm rather than shutil.rmtree: the .venv holds some 20,000 files.
        for path in (cluster_home, folder):
            if path is not None:
                subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=False)
        phase("cleaned up")
    assert not folder.exists()
    assert cluster_home is None or not cluster_home.exists()
