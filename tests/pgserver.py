"""A throwaway PostgreSQL server for tests, from Debian's `postgresql` package.

initdb refuses to run as root, so as root the server runs as the `postgres` system user
(its folder chowned to it). Each test gets its own database (create_database), so tests
never see each other's rows.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.helpers import free_port

INSTALL_HINT = (
    "PostgreSQL is not installed: the store tests run against a real server. "
    "Install it with `bash scripts/install_system.sh` (apt-get install postgresql)."
)


def find_binary(name: str) -> str | None:
    """initdb / pg_ctl: on PATH, else the newest /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    candidates.sort(key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return candidates[-1] if candidates else None


class PostgresServer:
    def __init__(self):
        self.initdb, self.pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
        if not (self.initdb and self.pg_ctl):
            raise RuntimeError(INSTALL_HINT)
        self.root = Path(tempfile.mkdtemp(prefix="chatbot-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, *args: str) -> None:
        command = (["runuser", "-u", "postgres", "--"] if self.as_postgres else []) + list(args)
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            )

    def start(self) -> "PostgresServer":
        """initdb + pg_ctl start (fsync off: a test cluster need not survive a power cut)."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            f"-c fsync=off -c max_connections=100"
        )
        try:
            self.run(
                self.initdb,
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            )
            self.run(
                self.pg_ctl,
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.root / "log"),
                "-w",
                "start",
            )
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        return self

    def stop(self) -> None:
        try:
            self.run(self.pg_ctl, "-D", str(self.data), "stop", "-m", "fast")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def admin(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE / DROP DATABASE need that)."""
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(sql)

    def create_database(self) -> str:
        """A fresh empty database; returns its SQLAlchemy URL."""
        name = f"test_{secrets.token_hex(6)}"
        self.admin(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def drop_database(self, url: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
