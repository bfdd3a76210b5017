"""A throwaway PostgreSQL cluster for the store tests: initdb in a temp dir, one server on a
free loopback port, stopped at the end of the session.

pytest-postgresql does this too, but runs the server as the current user, and PostgreSQL
refuses to run as root, which CI is; so the cluster runs as the ``postgres`` account that
Debian's package creates whenever the tests run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

INSTALL = "apt-get update && apt-get install -y postgresql (.ci/run does this)"


def pg_bin() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextmanager
def cluster() -> Iterator[str]:
    """Yields the URL of a superuser on a new cluster; the cluster is removed afterwards."""
    binaries = pg_bin()
    if binaries is None:
        raise FileNotFoundError(f"PostgreSQL's initdb/pg_ctl are not installed: {INSTALL}")
    root = Path(tempfile.mkdtemp(prefix="claimrisk-pg-"))
    root.chmod(0o755)
    data = root / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    run = {"check": True, "capture_output": True, "text": True}
    subprocess.run(
        _as_server([str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "claimrisk"]),
        **run,
    )
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {data} -c fsync=off"
    subprocess.run(
        # -l: the server's output goes to a file, not to pipes that run() would wait on
        _as_server(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(data / "server.log"),
                "-w",
                "start",
            ]
        ),
        **run,
    )
    try:
        yield f"postgresql://claimrisk@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_server([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
