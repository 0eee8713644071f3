"""The config file: TOML read with tomllib, validated by pydantic models.

Errors name the file, the key path and what was expected (``ConfigError``, exit 2). Secrets
(client secrets) may come from the environment instead of the file; tokens never live here.
Every key is documented in ``examples/config.toml``.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ledgerlink.errors import ConfigError

APP = "ledgerlink"
ENV_CONFIG = "LEDGERLINK_CONFIG"
ENV_STORE_URL = "LEDGERLINK_STORE_URL"

CLIO_REGIONS = {
    "us": "https://app.clio.com",
    "ca": "https://ca.app.clio.com",
    "eu": "https://eu.app.clio.com",
    "au": "https://au.app.clio.com",
}
QBO_API = {
    "production": "https://quickbooks.api.intuit.com/v3",
    "sandbox": "https://sandbox-quickbooks.api.intuit.com/v3",
}
QBO_AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
QBO_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
QBO_REVOKE_URL = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
QBO_SCOPE = "com.intuit.quickbooks.accounting"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreConfig(_Section):
    url: str = ""  # empty: SQLite file in the user data directory


class SecretsConfig(_Section):
    backend: Literal["keyring", "file", "env"] = "keyring"
    file: str = ""  # backend = "file": path of the 0600 token file (default: user config dir)


class ClioConfig(_Section):
    region: Literal["us", "ca", "eu", "au"] = "us"
    client_id: str = ""
    client_secret: str = ""
    redirect_uri: str = "http://127.0.0.1:8765/callback"
    base_url: str = ""  # override of the regional host (the sandbox sets it)

    @property
    def host(self) -> str:
        return (self.base_url or CLIO_REGIONS[self.region]).rstrip("/")

    @property
    def api_url(self) -> str:
        return f"{self.host}/api/v4"

    @property
    def authorize_url(self) -> str:
        return f"{self.host}/oauth/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.host}/oauth/token"

    @property
    def revoke_url(self) -> str:
        return f"{self.host}/oauth/deauthorize"

    # The OAuth application, named alike for every provider.
    @property
    def authorize_endpoint(self) -> str:
        return self.authorize_url

    @property
    def token_endpoint(self) -> str:
        return self.token_url

    @property
    def revoke_endpoint(self) -> str:
        return self.revoke_url

    scope: ClassVar[str | None] = None  # Clio's scopes are set on the developer application
    client_auth: ClassVar[Literal["basic", "body", "none"]] = "body"  # credentials in the form


class QboConfig(_Section):
    environment: Literal["production", "sandbox"] = "production"
    client_id: str = ""
    client_secret: str = ""
    redirect_uri: str = "http://127.0.0.1:8765/callback"
    # Requests per second sent to QBO. Intuit allows 10/s per company; 8 stays clear of throttling.
    # Only a sandbox warrants more.
    requests_per_second: float = Field(default=8.0, gt=0)
    api_url: str = ""  # overrides of the Intuit endpoints (the built-in sandbox sets them)
    authorize_url: str = ""
    token_url: str = ""
    revoke_url: str = ""

    @property
    def api_base(self) -> str:
        return (self.api_url or QBO_API[self.environment]).rstrip("/")

    @property
    def authorize_endpoint(self) -> str:
        return self.authorize_url or QBO_AUTHORIZE_URL

    @property
    def token_endpoint(self) -> str:
        return self.token_url or QBO_TOKEN_URL

    @property
    def revoke_endpoint(self) -> str:
        return self.revoke_url or QBO_REVOKE_URL

    scope: ClassVar[str | None] = QBO_SCOPE
    client_auth: ClassVar[Literal["basic", "body", "none"]] = "basic"  # Intuit wants HTTP Basic


XERO_AUTHORIZE_URL = "https://login.xero.com/identity/connect/authorize"
XERO_TOKEN_URL = "https://identity.xero.com/connect/token"
XERO_REVOKE_URL = "https://identity.xero.com/connect/revocation"
XERO_API = "https://api.xero.com"
# Apps created on or after 2 March 2026 must ask for granular scopes (reference/xero.md §6).
XERO_SCOPES = {
    "granular": "offline_access accounting.contacts accounting.settings.read accounting.invoices "
    "accounting.payments accounting.banktransactions",
    "broad": "offline_access accounting.contacts accounting.settings.read accounting.transactions",
}


class XeroHardCostsConfig(_Section):
    """Clio hard costs → Xero "Spend Money" bank transactions (seed 004, "Sync Hard Costs"); opt-in."""

    enabled: bool = False
    start_date: date | None = None  # hard costs dated on or after this day
    bank_account: str = ""  # code of the Xero bank account the money is spent from
    expense_account: str = ""  # code of the Xero expense account the cost is posted to


class XeroConfig(_Section):
    client_id: str = ""
    client_secret: str = ""  # empty for an "Auth Code with PKCE" app, which has none
    # Xero accepts http://localhost (not 127.0.0.1) as a desktop redirect.
    redirect_uri: str = "http://localhost:8765/callback"
    # "granular" for apps created on or after 2 March 2026; "broad" (accounting.transactions) for older apps.
    scopes: Literal["granular", "broad"] = "granular"
    api_url: str = ""  # overrides of Xero's endpoints (the built-in sandbox sets them)
    authorize_url: str = ""
    token_url: str = ""
    revoke_url: str = ""
    # Xero refuses two contacts with the same name: "Dana Whitfield (1234)" keeps every Clio contact
    # apart (seed 004: on for setups made since July 2019). Off: a clash is a per-record error.
    append_contact_id: bool = True
    hard_costs: XeroHardCostsConfig = Field(default_factory=XeroHardCostsConfig)

    @property
    def api_base(self) -> str:
        return (self.api_url or XERO_API).rstrip("/")

    @property
    def connections_url(self) -> str:
        return f"{self.api_base}/connections"

    @property
    def authorize_endpoint(self) -> str:
        return self.authorize_url or XERO_AUTHORIZE_URL

    @property
    def token_endpoint(self) -> str:
        return self.token_url or XERO_TOKEN_URL

    @property
    def revoke_endpoint(self) -> str:
        return self.revoke_url or XERO_REVOKE_URL

    @property
    def scope(self) -> str:
        return XERO_SCOPES[self.scopes]

    @property
    def client_auth(self) -> Literal["basic", "body", "none"]:
        # An "Auth Code with PKCE" app has no secret: it authenticates with its client id alone.
        return "basic" if self.client_secret else "none"


class SyncConfig(_Section):
    start_date: date | None = None  # sync bills issued on or after this date
    interval_minutes: int = Field(default=5, ge=1, le=1440)
    bill_states: tuple[Literal["awaiting_payment", "paid", "draft", "awaiting_approval"], ...] = (
        "awaiting_payment",
        "paid",
    )
    # US companies: Clio's tax arrives as invoice lines on mapping.tax — one line with the bill's
    # whole tax (true, Clio's default) or one line per taxed charge (false).
    aggregate_line_item_taxes: bool = True
    payments: bool = True  # post payments recorded against synced bills
    credit_notes: bool = True  # post credit notes applied to synced bills
    # The circuit breaker: a pass that would void, delete or rewrite more than this share of the
    # records of one kind already linked stops before writing them (exit 3), unless run with
    # --allow-mass-change. Kinds with fewer linked records than mass_change_minimum are not guarded.
    mass_change_share: Decimal = Field(default=Decimal("0.2"), gt=0, le=1)
    mass_change_minimum: int = Field(default=10, ge=1)


class TaxCodeMapping(_Section):
    """Non-US companies: which ledger tax code each combination of Clio's taxes is posted with."""

    primary: str = ""  # lines taxed with Clio's primary tax only
    secondary: str = ""  # lines taxed with Clio's secondary tax only
    both: str = ""  # lines taxed with both
    exempt: str = ""  # untaxed lines (and interest)

    def named(self) -> dict[str, str]:
        """The configured codes by slot, skipping empty ones."""
        return {slot: name for slot, name in self.model_dump().items() if name}


class MappingConfig(_Section):
    """Clio charges → QBO Products/Services, by the Product/Service name."""

    time_entries: str = ""
    expense_entries: str = ""
    tax: str = ""
    interest: str = ""
    discount: str = ""
    credit_notes: str = ""  # Product/Service a Clio credit note is posted to
    payment_account: str = ""  # account payments are deposited to; empty = Undeposited Funds
    activity_categories: dict[str, str] = Field(default_factory=dict)
    expense_categories: dict[str, str] = Field(default_factory=dict)
    tax_codes: TaxCodeMapping = Field(default_factory=TaxCodeMapping)

    @field_validator("activity_categories", "expense_categories")
    @classmethod
    def _no_blank_targets(cls, value: dict[str, str]) -> dict[str, str]:
        for key, target in value.items():
            if not target.strip():
                raise ValueError(f"category {key!r} maps to an empty Product/Service name")
        return value


MAX_TRUST_ACCOUNTS = 15  # seed 000: "up to 15 (inclusive) trust accounts"


class TrustAccountConfig(_Section):
    """One Clio trust account posted to a QBO trust bank / trust liability account pair (seed 000)."""

    clio_account: str  # the Clio trust bank account's name
    # Both required for a QBO target; a Xero target takes neither (Xero cannot receive trust postings).
    qbo_bank_account: str = ""  # Bank account, detail type Trust Account
    qbo_liability_account: str = ""  # Other Current Liability, detail type Trust Accounts - Liabilities
    # "Trust transactions dated on or after"; empty: the day of the first pass that posts this account.
    start_date: date | None = None
    include_disbursements: bool = True
    # "Payments made to Trust Requests and to Bills from a client account".
    include_trust_payments: bool = True
    # Post each client's Clio balance from before start_date as one opening journal entry, so the
    # three-way check ties out; leave off when the books already hold that history.
    opening_balances: bool = False

    @field_validator("clio_account")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name an account")
        return value.strip()

    @field_validator("qbo_bank_account", "qbo_liability_account")
    @classmethod
    def _stripped(cls, value: str) -> str:
        return value.strip()


class TrustConfig(_Section):
    """Trust sync to QBO: one-way, Clio → QBO, per Clio trust account."""

    accounts: tuple[TrustAccountConfig, ...] = Field(default=(), max_length=MAX_TRUST_ACCOUNTS)
    # A trust disbursement whose Clio reference starts with this text is posted as a cheque to print
    # in QBO ("Print Checks") instead of a journal entry; "Pay to: <vendor>" as the first line of
    # its description makes a QBO vendor the payee (otherwise the client is).
    cheque_marker: str = "QBO CHECK"

    @field_validator("accounts")
    @classmethod
    def _distinct(cls, value: tuple[TrustAccountConfig, ...]) -> tuple[TrustAccountConfig, ...]:
        names = [a.clio_account.casefold() for a in value]
        if len(set(names)) != len(names):
            raise ValueError("a Clio trust account is listed twice")
        return value


class HardCostImportConfig(_Section):
    """QBO → Clio hard-cost import (seed 002): expenses and cheques on one QBO account become Clio entries."""

    enabled: bool = False
    start_date: date | None = None  # QBO transactions dated on or after this day
    qbo_account: str = ""  # the QBO expense account (category) whose customer-tagged lines are imported
    # The Clio user the entries are assigned to (name or e-mail); empty: the primary subscriber.
    clio_user: str = ""
    # "HardCostEntry" where the firm uses Clio's hard/soft cost setting, else "ExpenseEntry".
    entry_type: Literal["HardCostEntry", "ExpenseEntry"] = "HardCostEntry"


class PayrollConfig(_Section):
    """Clio time entries → QBO TimeActivity for payroll (Firm360's payroll sync); opt-in."""

    enabled: bool = False
    start_date: date | None = None  # time entries dated on or after this day
    service_item: str = ""  # QBO Product/Service on each TimeActivity; empty: mapping.time_entries


class ImportConfig(_Section):
    hard_costs: HardCostImportConfig = Field(default_factory=HardCostImportConfig)


class Config(_Section):
    # The books ledgerlink syncs into: "qbo" (QuickBooks Online) or "xero". With "xero", the
    # [mapping] values are Xero account codes and mapping.payment_account empty means "None".
    target: Literal["qbo", "xero"] = "qbo"
    store: StoreConfig = Field(default_factory=StoreConfig)
    secrets: SecretsConfig = Field(default_factory=SecretsConfig)
    clio: ClioConfig = Field(default_factory=ClioConfig)
    qbo: QboConfig = Field(default_factory=QboConfig)
    xero: XeroConfig = Field(default_factory=XeroConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    mapping: MappingConfig = Field(default_factory=MappingConfig)
    trust: TrustConfig = Field(default_factory=TrustConfig)
    imports: ImportConfig = Field(default_factory=ImportConfig, alias="import")
    payroll: PayrollConfig = Field(default_factory=PayrollConfig)

    # Where it was read from; set by load_config.
    source: Path | None = Field(default=None, exclude=True)

    @property
    def store_url(self) -> str:
        env = os.environ.get(ENV_STORE_URL)
        if env:
            return env
        if self.store.url:
            return self.store.url
        return f"sqlite:///{default_data_dir() / 'ledgerlink.sqlite'}"

    @property
    def state_dir(self) -> Path:
        """Where the store and token file live by default: beside the config, or the user data dir."""
        return default_data_dir()


def default_config_path() -> Path:
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP))


def _key_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _with_env_secrets(raw: dict[str, Any]) -> dict[str, Any]:
    """Fill client ids/secrets from LEDGERLINK_<PROVIDER>_CLIENT_ID/SECRET when set."""
    for provider in ("clio", "qbo", "xero"):
        section = raw.setdefault(provider, {})
        if not isinstance(section, dict):
            continue
        for key in ("client_id", "client_secret"):
            value = os.environ.get(f"LEDGERLINK_{provider.upper()}_{key.upper()}")
            if value:
                section[key] = value
    return raw


def parse_config(text: str, source: Path) -> Config:
    """Validate TOML text; raise ConfigError naming the file, key path and expectation."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{source}: not valid TOML: {exc}",
            remedy="Fix the syntax at the line and column named (see examples/config.toml).",
        ) from None
    try:
        config = Config.model_validate(_with_env_secrets(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _key_path(tuple(first["loc"]))
        given = first.get("input")
        expected = first["msg"]
        if first["type"] == "extra_forbidden":
            expected = "no such key"
        shown = "" if isinstance(given, dict) else f" (got {given!r})"
        more = f" and {exc.error_count() - 1} more problem(s)" if exc.error_count() > 1 else ""
        raise ConfigError(
            f"{source}: key `{key}`: {expected}{shown}{more}",
            remedy="See examples/config.toml for every key and its allowed values.",
        ) from None
    _check_target(config, source)
    return config.model_copy(update={"source": source})


def _check_target(config: Config, source: Path) -> None:
    """Settings that only make sense for one target: trust postings go to QBO only (seed 004)."""
    if config.target == "xero":
        for section, on in (
            ("[import.hard_costs]", config.imports.hard_costs.enabled),
            ("[payroll]", config.payroll.enabled),
        ):
            if on:
                raise ConfigError(
                    f"{source}: {section} is enabled, but it works with QuickBooks Online only and this "
                    "config syncs into Xero.",
                    remedy=f"Set enabled = false in {section} (Xero's hard costs are [xero.hard_costs]), or "
                    'set target = "qbo".',
                )
    for index, account in enumerate(config.trust.accounts):
        where = f"{source}: [[trust.accounts]] #{index + 1} (“{account.clio_account}”)"
        if config.target == "xero" and (account.qbo_bank_account or account.qbo_liability_account):
            raise ConfigError(
                f"{where} names QuickBooks trust accounts, but this config syncs into Xero, and Xero cannot "
                "receive trust/client account transactions (a limitation of Xero).",
                remedy="Remove qbo_bank_account and qbo_liability_account from the entry (keep clio_account: "
                "`ledgerlink report trust` checks Clio's trust ledger against itself), or set target = "
                '"qbo".',
            )
        if config.target == "qbo":
            for key in ("qbo_bank_account", "qbo_liability_account"):
                if not getattr(account, key):
                    raise ConfigError(
                        f"{where}: key `trust.accounts.{index}.{key}`: must name an account",
                        remedy="Name the QuickBooks account trust money is posted to "
                        "(see examples/config.toml).",
                    )


def load_config(path: Path | None = None, *, required: bool = True) -> Config:
    """Read the config file; without one, defaults (unless ``required``)."""
    source = path or default_config_path()
    if not source.exists():
        if required:
            raise ConfigError(
                f"{source}: config file not found",
                remedy="Copy examples/config.toml there (or pass --config PATH) and fill it in.",
            )
        return Config.model_validate(_with_env_secrets({})).model_copy(update={"source": None})
    return parse_config(source.read_text(encoding="utf-8"), source)
