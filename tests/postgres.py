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
from pathlib import Path

import pytest

INSTALL = "PostgreSQL is not installed: `apt-get install postgresql` to run the PostgreSQL tests"


def _bin_dir() -> Path | None:
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


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """postgresql://rekon:PASSWORD@127.0.0.1:PORT/rekon on a cluster of the session's own."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip(INSTALL)
    owner = "postgres" if os.geteuid() == 0 else None
    if owner and shutil.which("su") is None:
        pytest.skip("running as root without `su`: cannot start PostgreSQL as its own user")
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
