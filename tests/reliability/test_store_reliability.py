"""The state store under stress (issue 9): private files, refused stores left byte for byte, a killed
migration or pass leaves a usable store, and "database is locked" waits, then fails clearly.

Stores here are real SQLite files; the kills are real processes dying at a failpoint (``os._exit``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from ledgerlink.errors import LockHeldError
from ledgerlink.failpoints import CRASH_EXIT_CODE
from ledgerlink.sandbox import Sandbox
from ledgerlink.store import Store
from ledgerlink.store.database import (
    StoreBusyError,
    StoreTooNewError,
    StoreUnreadableError,
    alembic_config,
    create_store_engine,
    upgrade_to,
)
from tests.scenarios.small_firm import SmallFirm, build_small_firm

HEAD = "0002"


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file in ``folder`` and a hash of its bytes: equal fingerprints, untouched folder."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def revision(path: Path) -> str | None:
    """The store's Alembic revision, read with a plain read-only connection."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "alembic_version" not in tables:
            return None
        row = db.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(row[0]) if row else None


def integrity(path: Path) -> str:
    with closing(sqlite3.connect(path)) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def edit(path: Path, sql: str) -> None:
    """Change the store by hand, as a person with a database browser would, and close it again."""
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(sql)


def python(code: str, *, env: dict[str, str] | None = None, umask: int | None = None) -> Any:
    """Run ``code`` in a fresh interpreter (a real process, own umask); its completed process."""
    command = [sys.executable, "-c", code]
    if umask is not None:
        command = ["sh", "-c", f'umask {umask:03o} && exec "$0" "$@"', *command]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


def status_command(tmp_path: Path, store: Path, *, env: dict[str, str] | None = None) -> Any:
    """The real `ledgerlink status` against ``store`` (a minimal config: store and a token file)."""
    config = tmp_path / "config.toml"
    tokens = tmp_path / "tokens.json"
    config.write_text(
        f'[store]\nurl = "{url_of(store)}"\n\n[secrets]\nbackend = "file"\nfile = "{tokens}"\n',
        encoding="utf-8",
    )
    return subprocess.run(
        [sys.executable, "-m", "ledgerlink", "--config", str(config), "status"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


# -- private files --------------------------------------------------------------------------------

PROBE = """
import json, os, stat, sys
from ledgerlink.store import Store
path = sys.argv[1]
with Store.open("sqlite:///" + path) as store:
    store.upsert_connection("qbo", "9341453050101234", "Whitfield & Ames LLP")
    modes = {n: stat.S_IMODE(os.stat(path + n).st_mode) for n in ("", "-wal", "-shm")}
print(json.dumps(modes))
"""


def test_a_new_store_its_wal_and_shm_and_its_new_folders_are_private_whatever_the_umask(
    tmp_path: Path,
) -> None:
    store = tmp_path / "books" / "firm" / "ledgerlink.sqlite"
    done = python(PROBE.replace("sys.argv[1]", repr(str(store))), umask=0o000)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"": 0o600, "-wal": 0o600, "-shm": 0o600}  # while the store is open
    assert mode(store) == 0o600
    assert mode(tmp_path / "books") == 0o700 and mode(tmp_path / "books" / "firm") == 0o700


def test_an_existing_folder_is_left_alone_and_a_store_readable_by_others_is_tightened_not_rewritten(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)
    store = shared / "ledgerlink.sqlite"
    with Store.open(url_of(store)) as opened:
        opened.upsert_connection("qbo", "9341453050101234", "Whitfield & Ames LLP")
    os.chmod(store, 0o644)  # as a store made by an older ledgerlink under umask 022
    before = fingerprint(shared)

    with Store.open(url_of(store)) as reopened:
        connection = reopened.active_connection("qbo")

    assert connection is not None and connection.name == "Whitfield & Ames LLP"
    assert mode(store) == 0o600
    assert mode(shared) == 0o755
    assert fingerprint(shared) == before


# -- stores ledgerlink must refuse ------------------------------------------------------------------


def _store_at_head(path: Path) -> bytes:
    with Store.open(url_of(path)) as store:
        store.upsert_connection("qbo", "9341453050101234", "Whitfield & Ames LLP")
    return path.read_bytes()


def test_a_store_of_a_newer_schema_is_refused_by_open_and_status_and_left_byte_for_byte(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    store = folder / "ledgerlink.sqlite"
    _store_at_head(store)
    edit(store, "UPDATE alembic_version SET version_num = '0007'")
    before = fingerprint(folder)

    with pytest.raises(StoreTooNewError) as refused:
        Store.open(url_of(store))
    assert "schema revision 0007, made by a newer ledgerlink" in str(refused.value)
    assert str(store) in str(refused.value)
    assert "Upgrade ledgerlink" in refused.value.remedy
    assert fingerprint(folder) == before

    shown = status_command(tmp_path, store)
    assert shown.returncode == 3, shown.stdout + shown.stderr
    assert "schema revision 0007" in shown.stderr and "Upgrade ledgerlink" in shown.stderr
    assert "Traceback" not in shown.stderr
    assert fingerprint(folder) == before
    assert revision(store) == "0007"


def _garbage(path: Path) -> None:
    path.write_bytes(b"Client ledger export, 2026-03-02\n" * 200)


def _truncated(path: Path) -> None:
    whole = _store_at_head(path)
    path.write_bytes(whole[:5000])  # the header and first page survive; the tables do not


def _header_only(path: Path) -> None:
    whole = _store_at_head(path)
    path.write_bytes(whole[:100])


def _another_programs_database(path: Path) -> None:
    edit(path, "CREATE TABLE invoices (number TEXT PRIMARY KEY, total TEXT)")


@pytest.mark.parametrize(
    "damage",
    [_garbage, _truncated, _header_only, _another_programs_database],
    ids=["garbage", "truncated", "header", "foreign"],
)
def test_a_corrupt_store_is_refused_naming_the_file_and_the_remedy_and_never_overwritten(
    tmp_path: Path, damage: Any
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    store = folder / "ledgerlink.sqlite"
    damage(store)
    before = fingerprint(folder)

    with pytest.raises(StoreUnreadableError) as refused:
        Store.open(url_of(store))
    assert f"The store {store} cannot be read" in str(refused.value)
    assert "backup" in refused.value.remedy and "move the file aside" in refused.value.remedy
    assert fingerprint(folder) == before

    shown = status_command(tmp_path, store)
    assert shown.returncode == 3, shown.stdout + shown.stderr
    assert f"The store {store} cannot be read" in shown.stderr
    assert "ledgerlink never overwrites it" in shown.stderr
    assert "Traceback" not in shown.stderr
    assert fingerprint(folder) == before


# -- interrupted migrations and transactions -------------------------------------------------------

OPEN_STORE = "import sys; from ledgerlink.store import Store; Store.open(sys.argv[1]).close()"


def _store_at_0001(path: Path) -> None:
    """A store as ledgerlink 0001 left it: a connection, and a sync error in the table 0002 changes."""
    engine = create_store_engine(url_of(path))
    try:
        with engine.begin() as connection:
            upgrade_to(alembic_config(), connection, "0001")
        Store(engine).upsert_connection("qbo", "9341453050101234", "Whitfield & Ames LLP")
    finally:
        engine.dispose()
    edit(
        path,
        "INSERT INTO sync_errors (connection_id, kind, source_id, label, cause, message, remedy, "
        "retryable, attempts, first_seen, last_seen) VALUES (1, 'invoice', '5001', 'Bill 5001', "
        "'validation', 'Amount is required', 'Fix the bill', 1, 2, '2026-03-02 10:00:00', "
        "'2026-03-03 10:00:00')",
    )


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_a_migration_killed_between_steps_leaves_the_old_store_and_the_next_open_completes_it(
    tmp_path: Path, journal: str
) -> None:
    store = tmp_path / "ledgerlink.sqlite"
    _store_at_0001(store)
    edit(store, f"PRAGMA journal_mode = {journal}")  # WAL: as ledgerlink leaves it; delete: a copied file

    killed = status_command(tmp_path, store, env={"LEDGERLINK_FAILPOINTS": "during_migration:1"})

    assert killed.returncode == CRASH_EXIT_CODE, killed.stderr
    assert revision(store) == "0001"  # the half-done upgrade was never committed
    assert integrity(store) == "ok"
    with Store.open(url_of(store)) as reopened:
        [error] = reopened.open_errors()
        connection = reopened.active_connection("qbo")
    assert revision(store) == HEAD
    assert connection is not None and connection.name == "Whitfield & Ames LLP"
    assert (error.label, error.message, error.attempts, error.parked) == (
        "Bill 5001",
        "Amount is required",
        2,
        False,
    )


def test_a_store_killed_while_being_created_is_created_whole_by_the_next_open(tmp_path: Path) -> None:
    store = tmp_path / "ledgerlink.sqlite"
    killed = python(
        OPEN_STORE.replace("sys.argv[1]", repr(url_of(store))),
        env={"LEDGERLINK_FAILPOINTS": "during_migration:1"},
    )

    assert killed.returncode == CRASH_EXIT_CODE, killed.stderr
    assert revision(store) is None and mode(store) == 0o600
    with Store.open(url_of(store)) as created:
        assert created.open_errors() == []
    assert revision(store) == HEAD
    assert integrity(store) == "ok"


@pytest.fixture
def small(empty_sandbox: Sandbox, tmp_path: Path) -> Iterator[SmallFirm]:
    yield build_small_firm(empty_sandbox, tmp_path)


def test_a_pass_killed_after_a_ledger_write_leaves_a_store_that_passes_integrity_and_opens(
    small: SmallFirm,
) -> None:
    for n in range(3):
        small.bill(small.client(f"Client{n}", f"Family{n}"))

    crashed = small.cli("sync", "--once", env={"LEDGERLINK_FAILPOINTS": "after_ledger_write:2"})

    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr
    store = small.workdir / "ledgerlink.sqlite"
    assert integrity(store) == "ok"
    assert revision(store) == HEAD
    with small.workspace() as workspace:
        last = workspace.store.last_run()
        assert last is not None and last.status == "running"  # the killed pass, not yet closed
    healed = small.cli("sync", "--once")
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert sorted(i["DocNumber"] for i in small.qbo("Invoice")) == ["5001", "5002", "5003"]
    assert integrity(store) == "ok"


# -- "database is locked" ----------------------------------------------------------------------------


class WriteLockHolder:
    """A second connection (another writer, as a second process would be) holding the write lock."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("BEGIN IMMEDIATE")

    def plant_lock(self, owner: str) -> None:
        now = datetime.now(UTC)
        self.db.execute(
            "INSERT INTO locks (name, owner, acquired_at, expires_at) VALUES ('sync', ?, ?, ?)",
            (owner, f"{now:%Y-%m-%d %H:%M:%S.%f}", f"{now + timedelta(minutes=10):%Y-%m-%d %H:%M:%S.%f}"),
        )

    def commit(self) -> None:
        self.db.execute("COMMIT")

    def close(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
        self.db.close()


def _announce_begin(store: Store, begun: threading.Event) -> None:
    """Set ``begun`` when the store's connection sends BEGIN IMMEDIATE (then it waits on the lock)."""

    @event.listens_for(store._engine, "connect")
    def trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(lambda sql: begun.set() if sql == "BEGIN IMMEDIATE" else None)

    store._engine.dispose()  # reconnect with the trace installed


def test_a_write_waits_for_another_writer_and_then_sees_what_it_committed(tmp_path: Path) -> None:
    path = tmp_path / "ledgerlink.sqlite"
    with Store.open(url_of(path), busy_timeout_ms=60_000) as store:
        begun = threading.Event()
        _announce_begin(store, begun)
        outcome: list[BaseException | None] = []

        def take_lock() -> None:
            try:
                store.acquire_lock("sync", "this-host:1", 600)
                outcome.append(None)
            except BaseException as exc:  # handed to the test thread
                outcome.append(exc)

        holder = WriteLockHolder(path)
        try:
            holder.plant_lock("books-server:4242")
            writer = threading.Thread(target=take_lock)
            writer.start()
            assert begun.wait(60), "the store never began its write"
            holder.commit()  # while the store's write waits on the lock
            writer.join(60)
        finally:
            holder.close()

        # It waited instead of failing, then read what the other writer had committed meanwhile.
        assert len(outcome) == 1 and isinstance(outcome[0], LockHeldError), outcome
        assert store.lock_owner("sync") == "books-server:4242"


def test_a_write_locked_out_past_the_busy_timeout_is_a_clear_store_error(tmp_path: Path) -> None:
    path = tmp_path / "ledgerlink.sqlite"
    Store.open(url_of(path)).close()
    with Store.open(url_of(path), busy_timeout_ms=50) as store:
        holder = WriteLockHolder(path)
        try:
            with pytest.raises(StoreBusyError) as busy:
                store.upsert_connection("qbo", "9341453050101234", "Whitfield & Ames LLP")
        finally:
            holder.close()
        assert f"The store {path} stayed locked by another process for 0.05 s" in str(busy.value)
        assert "database is locked" in str(busy.value)
        assert "run the command again" in busy.value.remedy
        assert busy.value.exit_code == 3
        assert store.active_connection("qbo") is None  # nothing was written
        store.upsert_connection("qbo", "9341453050101234", "Whitfield & Ames LLP")  # lock gone: it works
        assert store.active_connection("qbo") is not None
