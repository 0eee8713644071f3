"""Token storage: TokenSet serialisation, the keyring / file / env stores, choosing a backend."""

from __future__ import annotations

import json
import logging
import math
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import PasswordDeleteError

from ledgerlink.auth.tokens import (
    EnvTokenStore,
    FileTokenStore,
    KeyringTokenStore,
    TokenSet,
    keyring_is_usable,
    open_token_store,
)
from ledgerlink.config import SecretsConfig
from ledgerlink.errors import AuthError, ConfigError
from ledgerlink.http import redact

ACCESS = "at-0123456789-secret-access"
REFRESH = "rt-9876543210-secret-refresh"


def token_set(access: str = ACCESS, refresh: str = REFRESH, *, realm_id: str | None = "9130") -> TokenSet:
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        expires_at=1_800_003_600.0,
        refresh_expires_at=1_808_640_000.0,
        realm_id=realm_id,
        obtained_at=1_800_000_000.0,
        connected_at=1_799_000_000.0,
    )


class MemoryKeyring(KeyringBackend):
    """An in-memory keyring backend, so tests never touch the machine's real keyring."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


# ---------------------------------------------------------------------------------------------
# TokenSet


def test_token_set_round_trips_through_json() -> None:
    tokens = token_set()
    assert TokenSet.from_json(tokens.to_json()) == tokens


def test_token_set_repr_and_str_show_neither_token() -> None:
    tokens = token_set()
    for text in (repr(tokens), str(tokens)):
        assert ACCESS not in text and REFRESH not in text
        assert "realm_id='9130'" in text


def test_token_set_from_a_token_answer_counts_lifetimes_from_now() -> None:
    answer = {
        "access_token": ACCESS,
        "refresh_token": REFRESH,
        "token_type": "bearer",
        "expires_in": 3600,
        "x_refresh_token_expires_in": 8_640_000,
    }
    tokens = TokenSet.from_token_response("qbo", answer, now=1000.0, realm_id="9130")
    assert tokens == TokenSet(ACCESS, REFRESH, 4600.0, 8_641_000.0, "9130", 1000.0, 1000.0)


def test_renewed_token_set_keeps_company_connection_time_and_an_unrotated_refresh_token() -> None:
    tokens = token_set()
    renewed = tokens.renewed("clio", {"access_token": "at-new-0000000000", "expires_in": 60}, now=5000.0)
    assert renewed == TokenSet(
        "at-new-0000000000", REFRESH, 5060.0, None, tokens.realm_id, 5000.0, tokens.connected_at
    )


def test_token_answer_without_an_access_token_is_an_auth_error_that_shows_no_token() -> None:
    with pytest.raises(AuthError) as caught:
        TokenSet.from_token_response("qbo", {"refresh_token": REFRESH}, now=0.0, realm_id=None)
    assert "without an access token" in str(caught.value)
    assert REFRESH not in str(caught.value)


def test_garbage_is_not_a_token_set_and_the_error_does_not_echo_it() -> None:
    with pytest.raises(ValueError) as caught:
        TokenSet.from_dict({"access_token": ACCESS, "refresh_token": REFRESH, "expires_at": ACCESS})
    assert ACCESS not in str(caught.value)


def test_loaded_tokens_are_masked_in_every_later_log_line(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json", "firm")
    store.save("clio", token_set("at-loaded-4242424242", "rt-loaded-4242424242"))
    store.load("clio")
    assert redact("sent at-loaded-4242424242 and rt-loaded-4242424242") == "sent *** and ***"


# ---------------------------------------------------------------------------------------------
# File store


def test_file_store_writes_a_0600_file_in_a_0700_directory_it_creates(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ledgerlink" / "tokens.json"
    store = FileTokenStore(path, "firm")
    store.save("qbo", token_set())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert store.load("qbo") == token_set()
    assert store.description == f"file {path} (0600)"


def test_file_store_keeps_namespaces_and_providers_apart_in_one_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    firm, other = FileTokenStore(path, "firm"), FileTokenStore(path, "other-firm")
    firm.save("clio", token_set("at-firm-clio-000000"))
    firm.save("qbo", token_set("at-firm-qbo-0000000"))
    other.save("qbo", token_set("at-other-qbo-000000"))
    assert firm.load("clio") == token_set("at-firm-clio-000000")
    assert firm.load("qbo") == token_set("at-firm-qbo-0000000")
    assert other.load("qbo") == token_set("at-other-qbo-000000")
    assert other.load("clio") is None
    assert sorted(json.loads(path.read_text())["namespaces"]) == ["firm", "other-firm"]


def test_file_store_replaces_the_file_whole_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path, "firm")
    store.save("qbo", token_set("at-first-000000000"))
    inode = path.stat().st_ino
    store.save("qbo", token_set("at-second-00000000"))
    assert path.stat().st_ino != inode  # renamed over, not rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json", "tokens.json.lock"]
    assert store.load("qbo") == token_set("at-second-00000000")


def test_file_store_delete_forgets_one_provider_of_one_namespace(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store, other = FileTokenStore(path, "firm"), FileTokenStore(path, "other")
    store.save("clio", token_set())
    store.save("qbo", token_set())
    other.save("qbo", token_set())
    store.delete("qbo")
    store.delete("xero")  # never connected: nothing to do
    assert (store.load("clio"), store.load("qbo"), other.load("qbo")) == (token_set(), None, token_set())


def test_file_store_without_a_file_has_no_tokens(tmp_path: Path) -> None:
    assert FileTokenStore(tmp_path / "missing.json", "firm").load("clio") is None


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_file_store_refuses_a_file_others_can_read_and_names_the_exact_chmod(
    tmp_path: Path, mode: int
) -> None:
    path = tmp_path / "tokens.json"
    FileTokenStore(path, "firm").save("clio", token_set())
    path.chmod(mode)
    with pytest.raises(AuthError) as caught:
        FileTokenStore(path, "firm").load("clio")
    assert "can be read by other users" in caught.value.message
    assert f"`chmod 600 {path}`" in caught.value.remedy


def test_file_store_refuses_a_file_it_did_not_write_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("not json")
    path.chmod(0o600)
    with pytest.raises(AuthError, match="not one ledgerlink wrote"):
        FileTokenStore(path, "firm").load("clio")


# ---------------------------------------------------------------------------------------------
# Keyring store


def test_keyring_store_keeps_tokens_under_service_ledgerlink_and_user_namespace_provider(
    memory_keyring: MemoryKeyring,
) -> None:
    store = KeyringTokenStore("firm")
    store.save("qbo", token_set())
    assert list(memory_keyring.passwords) == [("ledgerlink", "firm:qbo")]
    assert store.load("qbo") == token_set()
    assert KeyringTokenStore("elsewhere").load("qbo") is None
    assert store.description == "OS keyring (test token stores MemoryKeyring)"


def test_keyring_store_delete_forgets_and_deleting_nothing_is_fine(memory_keyring: MemoryKeyring) -> None:
    store = KeyringTokenStore("firm")
    store.save("clio", token_set())
    store.delete("clio")
    store.delete("clio")
    assert store.load("clio") is None
    assert memory_keyring.passwords == {}


def test_keyring_that_cannot_store_is_an_auth_error_with_the_other_backends_as_remedy(
    no_keyring: None,
) -> None:
    with pytest.raises(AuthError) as caught:
        KeyringTokenStore("firm").load("clio")
    assert "NoKeyringError" in caught.value.message
    assert 'secrets.backend = "file" or "env"' in caught.value.remedy


# ---------------------------------------------------------------------------------------------
# Choosing the backend


def test_keyring_backend_without_a_usable_keyring_is_refused_naming_the_setting_and_alternatives(
    no_keyring: None, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as caught:
        open_token_store(SecretsConfig(backend="keyring"), "firm", default_file=tmp_path / "tokens.json")
    assert "secrets.backend" in caught.value.message
    assert 'secrets.backend = "file"' in caught.value.remedy
    assert 'secrets.backend = "env"' in caught.value.remedy
    assert not (tmp_path / "tokens.json").exists()  # no silent fallback


def test_stand_in_keyrings_that_store_nothing_are_not_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    assert not keyring_is_usable(fail.Keyring())
    assert not keyring_is_usable(null.Keyring())
    assert not keyring_is_usable(chainer.ChainerBackend())
    assert keyring_is_usable(MemoryKeyring())


def test_keyring_backend_with_a_usable_keyring_is_the_keyring_store(memory_keyring: MemoryKeyring) -> None:
    store = open_token_store(SecretsConfig(), "firm", default_file=Path("/unused"))
    assert isinstance(store, KeyringTokenStore)
    store.save("clio", token_set())
    assert ("ledgerlink", "firm:clio") in memory_keyring.passwords


def test_file_backend_uses_secrets_file_or_else_the_default(tmp_path: Path) -> None:
    default = tmp_path / "default.json"
    chosen = open_token_store(SecretsConfig(backend="file"), "firm", default_file=default)
    named = open_token_store(
        SecretsConfig(backend="file", file=str(tmp_path / "named.json")), "firm", default_file=default
    )
    assert isinstance(chosen, FileTokenStore) and chosen.path == default
    assert isinstance(named, FileTokenStore) and named.path == tmp_path / "named.json"


def test_env_backend_is_the_env_store(tmp_path: Path) -> None:
    store = open_token_store(SecretsConfig(backend="env"), "firm", default_file=tmp_path / "t.json")
    assert isinstance(store, EnvTokenStore)
    assert store.description == "environment variables LEDGERLINK_*"


# ---------------------------------------------------------------------------------------------
# Env store


def test_env_store_reads_tokens_realm_and_expiry() -> None:
    environ = {
        "LEDGERLINK_QBO_ACCESS_TOKEN": ACCESS,
        "LEDGERLINK_QBO_REFRESH_TOKEN": REFRESH,
        "LEDGERLINK_QBO_REALM_ID": "9130",
        "LEDGERLINK_QBO_EXPIRES_AT": "2027-01-01T00:00:00+00:00",
    }
    tokens = EnvTokenStore(environ, clock=lambda: 1000.0).load("qbo")
    assert tokens == TokenSet(ACCESS, REFRESH, 1_798_761_600.0, None, "9130", 1000.0, 1000.0)
    assert EnvTokenStore(environ).load("clio") is None


def test_env_store_trusts_an_access_token_without_expiry_and_refreshes_first_without_one() -> None:
    with_access = EnvTokenStore(
        {"LEDGERLINK_CLIO_ACCESS_TOKEN": ACCESS, "LEDGERLINK_CLIO_REFRESH_TOKEN": REFRESH}
    )
    refresh_only = EnvTokenStore({"LEDGERLINK_CLIO_REFRESH_TOKEN": REFRESH})
    loaded, bare = with_access.load("clio"), refresh_only.load("clio")
    assert loaded is not None and loaded.expires_at == math.inf
    assert bare is not None and bare.expires_within(300, now=0.0)


def test_env_store_bad_expiry_is_a_config_error_naming_the_variable() -> None:
    environ = {"LEDGERLINK_CLIO_ACCESS_TOKEN": ACCESS, "LEDGERLINK_CLIO_EXPIRES_AT": "next tuesday"}
    with pytest.raises(ConfigError, match="LEDGERLINK_CLIO_EXPIRES_AT"):
        EnvTokenStore(environ).load("clio")


def test_env_store_keeps_a_rotated_qbo_token_in_memory_and_warns_without_showing_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = EnvTokenStore({"LEDGERLINK_QBO_ACCESS_TOKEN": ACCESS, "LEDGERLINK_QBO_REFRESH_TOKEN": REFRESH})
    rotated = token_set("at-rotated-11111111", "rt-rotated-11111111")
    with caplog.at_level(logging.WARNING, logger="ledgerlink.auth"):
        store.save("qbo", rotated)
    assert store.load("qbo") == rotated
    assert "LEDGERLINK_QBO_REFRESH_TOKEN" in caplog.text and "Persist the new token" in caplog.text
    assert "rt-rotated-11111111" not in caplog.text and REFRESH not in caplog.text


def test_env_store_does_not_warn_for_clio_whose_refresh_token_is_reusable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = EnvTokenStore({"LEDGERLINK_CLIO_REFRESH_TOKEN": REFRESH})
    with caplog.at_level(logging.WARNING, logger="ledgerlink.auth"):
        store.save("clio", token_set("at-new-2222222222", REFRESH))
    assert caplog.records == []


def test_env_store_delete_forgets_for_the_rest_of_the_process() -> None:
    store = EnvTokenStore({"LEDGERLINK_CLIO_REFRESH_TOKEN": REFRESH})
    store.delete("clio")
    assert store.load("clio") is None
