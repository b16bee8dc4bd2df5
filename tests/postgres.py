"""A throwaway PostgreSQL cluster for the tests: Debian's binaries, `initdb` in a temporary
folder (as the `postgres` user when the tests run as root), a free port on 127.0.0.1, a
password, stopped at the end. Where PostgreSQL is not installed the tests that need it are
skipped, saying how to enable them."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

INSTALL = "PostgreSQL is not installed: `apt-get install postgresql` to run the PostgreSQL tests"


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return found[0].parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(args: list[str], owner: str | None) -> None:
    if owner:  # root may not run PostgreSQL: run as its own user
        args = ["su", owner, "-s", "/bin/sh", "-c", " ".join(f"'{a}'" for a in args)]
    subprocess.run(args, check=True, capture_output=True, timeout=120)


class NoPostgres(Exception):
    """PostgreSQL cannot be started here; the message says how to enable it."""


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """postgresql://rekon:PASSWORD@127.0.0.1:PORT/rekon on a cluster of its own, stopped and
    removed at the end (the tests' fixture, and the benchmarks)."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise NoPostgres(INSTALL)
    owner = "postgres" if os.geteuid() == 0 else None
    if owner and shutil.which("su") is None:
        raise NoPostgres("running as root without `su`: cannot start PostgreSQL as its own user")
    root = Path(tempfile.mkdtemp(prefix="rekon-pg-"))
    data, sockets, pwfile = root / "data", root / "sock", root / "pw"
    password = secrets.token_urlsafe(12)
    pwfile.write_text(password)
    sockets.mkdir()
    if owner:
        shutil.chown(root, owner)
        shutil.chown(sockets, owner)
        shutil.chown(pwfile, owner)
    port = _free_port()
    _as_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", "rekon", f"--pwfile={pwfile}",
               "-A", "scram-sha-256", "-E", "UTF8"], owner)  # fmt: skip
    _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"),
               "-o", f"-p {port} -k {sockets} -h 127.0.0.1", "start"], owner)  # fmt: skip
    try:
        env = os.environ | {"PGPASSWORD": password}
        subprocess.run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port),
             "-U", "rekon", "rekon"],
            check=True, capture_output=True, timeout=60, env=env,
        )  # fmt: skip
        yield f"postgresql://rekon:{password}@127.0.0.1:{port}/rekon"
    finally:
        _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], owner)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A cluster of the session's own; the tests that need it are skipped, saying how to
    enable them, where PostgreSQL is not installed."""
    try:
        cluster = throwaway_cluster()
        url = cluster.__enter__()
    except NoPostgres as exc:
        pytest.skip(str(exc))
    try:
        yield url
    finally:
        cluster.__exit__(None, None, None)


class Databases:
    """Fresh databases on the session's cluster, each a copy of one already migrated: a test
    gets a store of its own in milliseconds."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._made = 0
        parts = urlsplit(url)
        self._env = os.environ | {"PGPASSWORD": parts.password or ""}
        self._args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port), "-U",
                      parts.username or "rekon"]  # fmt: skip
        self._template: str | None = None

    def _run(self, tool: str, *args: str) -> None:
        bin_dir = postgres_bin()
        assert bin_dir is not None
        subprocess.run([str(bin_dir / tool), *self._args, *args], check=True,
                       capture_output=True, timeout=60, env=self._env)  # fmt: skip

    def _url(self, name: str) -> str:
        return urlunsplit(urlsplit(self.url)._replace(path=f"/{name}"))

    def new(self, migrated: bool = True) -> str:
        """The address of a new database: migrated (a copy of the template), or empty."""
        from rekon.store import Store

        if migrated and self._template is None:
            self._run("createdb", "rekon_template")
            Store(self._url("rekon_template")).close()
            self._template = "rekon_template"
        self._made += 1
        name = f"rekon_test_{self._made}"
        self._run("createdb", *(["-T", self._template] if migrated and self._template else []),
                  name)  # fmt: skip
        return self._url(name)

    def drop(self, url: str) -> None:
        self._run("dropdb", "--force", urlsplit(url).path.lstrip("/"))

    def analyze(self, url: str) -> None:
        """VACUUM ANALYZE a database, as autovacuum does shortly after a bulk load."""
        self._run("vacuumdb", "-z", urlsplit(url).path.lstrip("/"))


@pytest.fixture(scope="session")
def postgres_databases(postgres_url: str) -> Databases:
    return Databases(postgres_url)
