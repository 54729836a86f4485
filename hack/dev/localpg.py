"""A throwaway PostgreSQL server for `make run` and `make test`.

Data lives in a fresh directory under /tmp (not under the clone: CI may clone into a folder that
only root can enter, and postgres refuses to run as root, so as root every command runs through
`runuser -u postgres`). The server listens on 127.0.0.1 and its own socket directory only.
Connections over TCP authenticate with a password (SCRAM-SHA-256), as in the cluster, so every
role's password is really checked; the superuser's is random per server and is part of `url`.

    python hack/dev/localpg.py start   # prints DATABASE_URL, keeps running until `stop`
    python hack/dev/localpg.py stop
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

STATE_FILE = Path(tempfile.gettempdir()) / "techcommerce-localpg.path"


def _bindir() -> Path:
    """The directory of initdb/pg_ctl: PG_BINDIR, else the newest Debian install, else PATH."""
    if env := os.environ.get("PG_BINDIR"):
        return Path(env)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        return Path(pg_ctl).parent
    raise SystemExit("PostgreSQL binaries not found: install postgresql or set PG_BINDIR")


def url_as(url: str, user: str, password: str) -> str:
    """`url` (postgresql://...) with its user and password replaced: the same database as a
    service's own role. The password is percent-encoded, so any characters are fine."""
    parts = urllib.parse.urlsplit(url)
    secret = urllib.parse.quote(password, safe="")
    netloc = f"{user}:{secret}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalPostgres:
    """One PostgreSQL server in its own directory; start/stop may be called repeatedly."""

    directory: Path
    port: int
    user: str = "techcommerce"
    database: str = "techcommerce"
    password: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)

    @classmethod
    def create(cls, port: int | None = None) -> LocalPostgres:
        directory = Path(tempfile.mkdtemp(prefix="techcommerce-pg-"))
        server = cls(directory=directory, port=port or free_port())
        server._initdb()
        return server

    @property
    def datadir(self) -> Path:
        return self.directory / "data"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *argv]
        return argv

    def _run(self, argv: list[str]) -> None:
        subprocess.run(self._as_owner(argv), check=True, stdout=subprocess.DEVNULL, cwd="/")

    def _initdb(self) -> None:
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.directory, pw.pw_uid, pw.pw_gid)
        password_file = self.directory / "superuser-password"
        password_file.write_text(self.password + "\n")
        password_file.chmod(0o644)  # initdb may run as postgres; the directory is private
        self._run(
            [
                str(_bindir() / "initdb"),
                "-D",
                str(self.datadir),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={password_file}",
                f"--username={self.user}",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        )
        password_file.unlink()
        settings = (
            "listen_addresses = '127.0.0.1'\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{self.directory}'\n"
            "max_connections = 300\n"
            "fsync = on\n"
            "shared_buffers = 128MB\n"
        )
        conf = self.datadir / "postgresql.conf"
        conf.write_text(conf.read_text() + settings)
        self.start()
        self._run(
            [
                str(_bindir() / "createdb"),
                "-h",
                str(self.directory),
                "-p",
                str(self.port),
                "-U",
                self.user,
                self.database,
            ]
        )

    def is_running(self) -> bool:
        status = subprocess.run(
            self._as_owner([str(_bindir() / "pg_ctl"), "-D", str(self.datadir), "status"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
            check=False,
        )
        return status.returncode == 0

    def start(self) -> None:
        if self.is_running():
            return
        self._run(
            [
                str(_bindir() / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-l",
                str(self.directory / "server.log"),
                "-w",
                "start",
            ]
        )

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(
                [str(_bindir() / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"]
            )

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "start"
    if command == "start":
        server = LocalPostgres.create(port=int(os.environ.get("PGPORT_LOCAL", "0")) or None)
        STATE_FILE.write_text(f"{server.directory}\n{server.port}\n")
        print(server.url)
        return 0
    if command == "stop":
        if not STATE_FILE.exists():
            return 0
        directory, port = STATE_FILE.read_text().split()
        LocalPostgres(Path(directory), int(port)).destroy()
        STATE_FILE.unlink()
        return 0
    print(f"usage: {argv[0]} start|stop", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
