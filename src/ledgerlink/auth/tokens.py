"""Where OAuth tokens live between runs: the OS keyring, a 0600 file, or environment variables.

A :class:`TokenSet` is what one connection holds; a :class:`TokenStore` keeps one per provider
and namespace (a namespace keeps two configs on one machine apart). :func:`open_token_store`
picks the backend named by ``secrets.backend`` and never falls back silently: a cron server
without a keyring must say ``file`` or ``env`` on purpose.

Every token loaded or saved is registered with :func:`ledgerlink.http.register_secret`, so it
is masked in every log line and exception from then on. No message here contains a token.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from ledgerlink.config import SecretsConfig
from ledgerlink.errors import AuthError, ConfigError
from ledgerlink.http import register_secret

try:  # POSIX: serialise writers of the token file across processes
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("ledgerlink.auth")

Provider = Literal["clio", "qbo", "xero"]
PROVIDER_NAMES: dict[str, str] = {"clio": "Clio", "qbo": "QuickBooks Online", "xero": "Xero"}
KEYRING_SERVICE = "ledgerlink"
FILE_FORMAT = 1


def provider_name(provider: str) -> str:
    """The name a person knows the provider by ("QuickBooks Online" for "qbo")."""
    return PROVIDER_NAMES.get(provider, provider)


def reconnect_remedy(provider: str) -> str:
    return f"Reconnect with `ledgerlink connect {provider}`."


# ---------------------------------------------------------------------------------------------
# TokenSet


@dataclass(frozen=True)
class TokenSet:
    """The tokens of one connection and when they stop working (epoch seconds).

    ``expires_at`` may be ``math.inf`` when the lifetime is unknown (the API's 401 then says when).
    ``refresh_expires_at`` is None when the provider does not say (Clio's never expire).
    The token values are kept out of ``repr`` so tracebacks and debuggers do not show them.
    """

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float
    refresh_expires_at: float | None
    realm_id: str | None
    obtained_at: float
    connected_at: float

    def expires_within(self, seconds: float, now: float) -> bool:
        """True when the access token is gone or will be within ``seconds``."""
        return not self.access_token or self.expires_at - seconds <= now

    def refresh_expired(self, now: float) -> bool:
        """True when the refresh token is known to have expired."""
        return self.refresh_expires_at is not None and self.refresh_expires_at <= now

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenSet:
        """A TokenSet from :meth:`as_dict` output; ValueError when the shape is wrong."""
        try:
            tokens = cls(
                access_token=str(data["access_token"]),
                refresh_token=str(data["refresh_token"]),
                expires_at=float(data["expires_at"]),
                refresh_expires_at=_optional_float(data.get("refresh_expires_at")),
                realm_id=None if data.get("realm_id") is None else str(data["realm_id"]),
                obtained_at=float(data["obtained_at"]),
                connected_at=float(data["connected_at"]),
            )
        except (KeyError, TypeError, ValueError):
            # no detail: the offending value could be a token
            raise ValueError("not a stored token set") from None
        return tokens

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TokenSet:
        try:
            data = json.loads(text)
        except ValueError:
            raise ValueError("not a stored token set (invalid JSON)") from None
        if not isinstance(data, dict):
            raise ValueError("not a stored token set (not a JSON object)")
        return cls.from_dict(data)

    @classmethod
    def from_token_response(
        cls,
        provider: str,
        response: Mapping[str, Any],
        *,
        now: float,
        realm_id: str | None,
        connected_at: float | None = None,
        previous_refresh_token: str | None = None,
    ) -> TokenSet:
        """The TokenSet an OAuth token endpoint's JSON answer describes, received at ``now``.

        A refresh answer without a ``refresh_token`` keeps ``previous_refresh_token`` (RFC 6749
        §6 lets a server keep the old one). Raises AuthError when the answer lacks a token.
        """
        access = response.get("access_token")
        refresh = response.get("refresh_token") or previous_refresh_token
        if not isinstance(access, str) or not access:
            raise AuthError(f"{provider_name(provider)} answered without an access token.")
        if not isinstance(refresh, str) or not refresh:
            raise AuthError(f"{provider_name(provider)} answered without a refresh token.")
        expires_in = _optional_float(response.get("expires_in"))
        refresh_expires_in = _optional_float(response.get("x_refresh_token_expires_in"))
        tokens = cls(
            access_token=access,
            refresh_token=refresh,
            expires_at=math.inf if expires_in is None else now + expires_in,
            refresh_expires_at=None if refresh_expires_in is None else now + refresh_expires_in,
            realm_id=realm_id,
            obtained_at=now,
            connected_at=now if connected_at is None else connected_at,
        )
        register_tokens(tokens)
        return tokens

    def renewed(self, provider: str, response: Mapping[str, Any], *, now: float) -> TokenSet:
        """This connection after a refresh: new tokens, same company and connection time."""
        return TokenSet.from_token_response(
            provider,
            response,
            now=now,
            realm_id=self.realm_id,
            connected_at=self.connected_at,
            previous_refresh_token=self.refresh_token,
        )


def _optional_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


def register_tokens(tokens: TokenSet) -> TokenSet:
    """Mask both tokens in every later log line; returns ``tokens``."""
    register_secret(tokens.access_token)
    register_secret(tokens.refresh_token)
    return tokens


# ---------------------------------------------------------------------------------------------
# The store protocol


class TokenStore(Protocol):
    """Keeps one TokenSet per provider."""

    def load(self, provider: Provider) -> TokenSet | None:
        """The stored tokens, or None when the provider was never connected (or was disconnected)."""
        ...

    def save(self, provider: Provider, tokens: TokenSet) -> None:
        """Replace the stored tokens; when this returns they survive a crash."""
        ...

    def delete(self, provider: Provider) -> None:
        """Forget the provider's tokens (nothing stored is fine)."""
        ...

    @property
    def description(self) -> str:
        """Where the tokens live, for `ledgerlink doctor` ("OS keyring (SecretService)", ...)."""
        ...


def _unreadable(provider: str, where: str) -> AuthError:
    return AuthError(
        f"The stored {provider_name(provider)} tokens in {where} are unreadable.",
        remedy=reconnect_remedy(provider),
    )


# ---------------------------------------------------------------------------------------------
# OS keyring


def keyring_is_usable(backend: KeyringBackend) -> bool:
    """False for keyring's stand-ins that store nothing (fail, null, a chainer with nothing)."""
    if isinstance(backend, fail.Keyring | null.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        return bool(backend.backends)
    return True


class KeyringTokenStore:
    """Tokens in the OS keyring: service ``ledgerlink``, user ``<namespace>:<provider>``."""

    def __init__(self, namespace: str, backend: KeyringBackend | None = None) -> None:
        self.namespace = namespace
        self._given = backend

    def _backend(self) -> KeyringBackend:
        return self._given or keyring.get_keyring()

    def _user(self, provider: str) -> str:
        return f"{self.namespace}:{provider}"

    @property
    def description(self) -> str:
        return f"OS keyring ({self._backend().name})"

    def load(self, provider: Provider) -> TokenSet | None:
        try:
            text = self._backend().get_password(KEYRING_SERVICE, self._user(provider))
        except keyring.errors.KeyringError as exc:
            raise self._failure("read", exc) from None
        if text is None:
            return None
        try:
            return register_tokens(TokenSet.from_json(text))
        except ValueError:
            raise _unreadable(provider, self.description) from None

    def save(self, provider: Provider, tokens: TokenSet) -> None:
        register_tokens(tokens)
        try:
            self._backend().set_password(KEYRING_SERVICE, self._user(provider), tokens.to_json())
        except keyring.errors.KeyringError as exc:
            raise self._failure("write", exc) from None

    def delete(self, provider: Provider) -> None:
        try:
            self._backend().delete_password(KEYRING_SERVICE, self._user(provider))
        except keyring.errors.PasswordDeleteError:
            return  # nothing stored
        except keyring.errors.KeyringError as exc:
            raise self._failure("write", exc) from None

    def _failure(self, verb: str, exc: Exception) -> AuthError:
        return AuthError(
            f"Could not {verb} the OS keyring ({type(exc).__name__}).",
            remedy='Unlock the keyring, or set secrets.backend = "file" or "env" in the config.',
        )


# ---------------------------------------------------------------------------------------------
# A 0600 file


class FileTokenStore:
    """Tokens in a JSON file only its owner can read, shared by several namespaces.

    Writes go to a temporary file in the same directory, which is then renamed over the old one,
    so a crash leaves either the old or the new tokens, never half of each. Writers (threads and,
    on POSIX, processes) are serialised by a lock so no namespace's update is lost. A missing
    parent directory is created with mode 0700; an existing one is left as it is.
    """

    def __init__(self, path: Path, namespace: str) -> None:
        self.path = Path(path).expanduser()
        self.namespace = namespace
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        return f"file {self.path} (0600)"

    def load(self, provider: Provider) -> TokenSet | None:
        stored = self._read().get(self.namespace, {}).get(provider)
        if stored is None:
            return None
        try:
            return register_tokens(TokenSet.from_dict(stored))
        except ValueError:
            raise _unreadable(provider, str(self.path)) from None

    def save(self, provider: Provider, tokens: TokenSet) -> None:
        register_tokens(tokens)
        with self._exclusive():
            namespaces = self._read()
            namespaces.setdefault(self.namespace, {})[provider] = tokens.as_dict()
            self._write(namespaces)

    def delete(self, provider: Provider) -> None:
        with self._exclusive():
            namespaces = self._read()
            stored = namespaces.get(self.namespace, {})
            if stored.pop(provider, None) is None:
                return
            if not stored:
                namespaces.pop(self.namespace, None)
            self._write(namespaces)

    def _read(self) -> dict[str, dict[str, Any]]:
        """Every namespace in the file ({} when there is no file yet)."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                self._check_private(os.fstat(handle.fileno()).st_mode)
                text = handle.read()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise AuthError(
                f"Cannot read the token file {self.path}: {exc.strerror}.",
                remedy=f"Check the file's owner and permissions (`chmod 600 {self.path}`).",
            ) from None
        try:
            data = json.loads(text)
            namespaces = data["namespaces"]
            if not isinstance(namespaces, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise AuthError(
                f"The token file {self.path} is not one ledgerlink wrote.",
                remedy="Move it aside and connect again (`ledgerlink connect <provider>`).",
            ) from None
        return namespaces

    def _check_private(self, mode: int) -> None:
        if os.name == "nt" or not mode & 0o077:
            return  # Windows: ACLs, not mode bits, guard the user profile
        raise AuthError(
            f"The token file {self.path} can be read by other users (mode {mode & 0o777:o}); "
            "ledgerlink refuses to use it.",
            remedy=f"Run `chmod 600 {self.path}`, consider the tokens leaked and reconnect if in doubt.",
        )

    def _write(self, namespaces: dict[str, dict[str, Any]]) -> None:
        parent = self.path.parent
        if not parent.exists():
            parent.mkdir(parents=True, mode=0o700)
            os.chmod(parent, 0o700)  # mkdir's mode is filtered by the umask
        text = json.dumps({"format": FILE_FORMAT, "namespaces": namespaces}, indent=2, sort_keys=True)
        fd, temp = tempfile.mkstemp(dir=parent, prefix=f".{self.path.name}.", suffix=".tmp")  # 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        _fsync_directory(parent)

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        with self._lock:
            if fcntl is None:  # pragma: no cover - Windows
                yield
                return
            self.path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
            lock_path = self.path.with_name(self.path.name + ".lock")
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the flock


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); best effort elsewhere."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# Environment variables


class EnvTokenStore:
    """Tokens from ``LEDGERLINK_<PROVIDER>_{ACCESS_TOKEN,REFRESH_TOKEN,REALM_ID,EXPIRES_AT}``.

    For servers with neither a keyring nor a writable private file. The variables are read once
    per provider; tokens refreshed afterwards are kept in this process's memory only, since a
    process cannot change its parent's environment. Clio's refresh token is reusable, so that is
    harmless for Clio. QuickBooks Online rotates its refresh token: after a refresh the value in
    ``LEDGERLINK_QBO_REFRESH_TOKEN`` goes stale and the operator must persist the new one (or
    switch to the ``file``/``keyring`` backend). A warning is logged each time this happens.

    ``_EXPIRES_AT`` is epoch seconds or an ISO 8601 time with offset. Without it a given access
    token is trusted until the API rejects it; without an access token the first use refreshes.
    ``delete`` forgets the tokens for the rest of the process.
    """

    def __init__(self, environ: Mapping[str, str] | None = None, *, clock: Callable[[], float] = time.time):
        self._environ = os.environ if environ is None else environ
        self._clock = clock
        self._memory: dict[str, TokenSet | None] = {}
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        return "environment variables LEDGERLINK_*"

    def load(self, provider: Provider) -> TokenSet | None:
        with self._lock:
            if provider in self._memory:
                return self._memory[provider]
        return self._from_environment(provider)

    def save(self, provider: Provider, tokens: TokenSet) -> None:
        register_tokens(tokens)
        with self._lock:
            self._memory[provider] = tokens
        if provider == "qbo" and tokens.refresh_token != self._environ.get(_env_name("qbo", "REFRESH_TOKEN")):
            log.warning(
                'QuickBooks Online issued a new refresh token; with secrets.backend = "env" it is kept in '
                "this process's memory only and %s will stop working. Persist the new token (run "
                '`ledgerlink connect qbo` on a machine with a keyring) or use secrets.backend = "file".',
                _env_name("qbo", "REFRESH_TOKEN"),
            )

    def delete(self, provider: Provider) -> None:
        with self._lock:
            self._memory[provider] = None

    def _from_environment(self, provider: Provider) -> TokenSet | None:
        access = self._environ.get(_env_name(provider, "ACCESS_TOKEN"), "").strip()
        refresh = self._environ.get(_env_name(provider, "REFRESH_TOKEN"), "").strip()
        if not access and not refresh:
            return None
        raw_expiry = self._environ.get(_env_name(provider, "EXPIRES_AT"), "").strip()
        if raw_expiry:
            expires_at = _parse_expiry(_env_name(provider, "EXPIRES_AT"), raw_expiry)
        else:
            expires_at = math.inf if access else 0.0
        now = self._clock()
        realm_id = self._environ.get(_env_name(provider, "REALM_ID"), "").strip() or None
        return register_tokens(TokenSet(access, refresh, expires_at, None, realm_id, now, now))


def _env_name(provider: str, part: str) -> str:
    return f"LEDGERLINK_{provider.upper()}_{part}"


def _parse_expiry(name: str, value: str) -> float:
    """Epoch seconds from a number or an ISO 8601 time with a UTC offset."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ConfigError(
            f"{name} must be epoch seconds or an ISO 8601 time with offset (got {value!r}).",
            remedy=f"Set {name} to e.g. 1767225600 or 2026-01-01T00:00:00+00:00, or leave it unset.",
        )
    return moment.timestamp()


# ---------------------------------------------------------------------------------------------
# Choosing the backend


def open_token_store(cfg: SecretsConfig, namespace: str, *, default_file: Path) -> TokenStore:
    """The token store ``secrets.backend`` names; ConfigError if the OS keyring cannot store anything."""
    if cfg.backend == "file":
        return FileTokenStore(Path(cfg.file).expanduser() if cfg.file else default_file, namespace)
    if cfg.backend == "env":
        return EnvTokenStore()
    backend = keyring.get_keyring()
    if not keyring_is_usable(backend):
        raise ConfigError(
            f'secrets.backend is "keyring" but this machine has no usable OS keyring ({backend.name}).',
            remedy=(
                'Set secrets.backend = "file" (tokens in a 0600 file; secrets.file names it) or '
                'secrets.backend = "env" (LEDGERLINK_<PROVIDER>_* variables) in the config, '
                "or install and unlock a keyring service."
            ),
        )
    return KeyringTokenStore(namespace, backend)


__all__ = [
    "PROVIDER_NAMES",
    "EnvTokenStore",
    "FileTokenStore",
    "KeyringTokenStore",
    "Provider",
    "TokenSet",
    "TokenStore",
    "keyring_is_usable",
    "open_token_store",
    "provider_name",
    "reconnect_remedy",
    "register_tokens",
]
