"""The composition root: config + store + token store → connected clients and sync passes.

The CLI stays thin by asking a :class:`Workspace` for what it needs; tests build one around a
sandbox the same way. Nothing here decides *what* to sync; it only wires the parts together.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Literal

from ledgerlink.auth.flow import authorize
from ledgerlink.auth.session import ClientAuth, OAuthSession
from ledgerlink.auth.tokens import Provider as AnyProvider
from ledgerlink.auth.tokens import TokenSet, TokenStore, open_token_store, provider_name
from ledgerlink.config import CLIO_REGIONS, ClioConfig, Config, QboConfig, XeroConfig
from ledgerlink.domain import TrustTransaction
from ledgerlink.errors import AuthError, ConfigError, UserError
from ledgerlink.http import RateLimiter
from ledgerlink.providers.clio.client import ClioClient
from ledgerlink.providers.clio.source import ClioSource
from ledgerlink.providers.qbo.client import QboClient
from ledgerlink.providers.qbo.ledger import QboLedger
from ledgerlink.providers.xero.client import XeroClient
from ledgerlink.providers.xero.connections import XeroTenant, auth_event_id_of, list_tenants
from ledgerlink.providers.xero.ledger import XeroLedger
from ledgerlink.reports.trust import TrustCheck, three_way
from ledgerlink.store import Connection, Link, Store
from ledgerlink.sync.engine import PassResult, PlanFn, ProgressFn, SidePhase, SyncPass
from ledgerlink.sync.hard_costs import run_hard_cost_import
from ledgerlink.sync.payroll import run_payroll
from ledgerlink.sync.ports import Ledger
from ledgerlink.sync.spend_money import run_spend_money
from ledgerlink.sync.trust_setup import clio_account_named
from ledgerlink.sync.trust_setup import resolve as resolve_trust

Provider = Literal["clio", "qbo", "xero"]


@dataclass(frozen=True)
class OAuthApp:
    """One provider's OAuth application, as configured."""

    provider: Provider
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    revoke_url: str
    redirect_uri: str
    scope: str | None
    client_auth: ClientAuth


@dataclass(frozen=True)
class Connected:
    """What `ledgerlink connect` reports: the company behind the new tokens."""

    provider: Provider
    name: str
    external_id: str
    region: str | None
    token_store: str
    resumed: int = 0  # links kept from an earlier connection to the same company


LEDGERS = frozenset({"qbo", "xero"})


def _rivals(provider: str) -> frozenset[str]:
    """Providers whose active connection a new connection of ``provider`` replaces."""
    return LEDGERS if provider in LEDGERS else frozenset({provider})


def _wrong_region(clio: ClioConfig) -> AuthError:
    return AuthError(
        f"Clio's {clio.region.upper()} region ({clio.host}) did not accept the new tokens: "
        "a Clio account and its tokens live in one region only.",
        remedy="If the firm's Clio account is in another region, connect again with --region "
        "ca, eu, au or us (or set clio.region in the config).",
    )


class MemoryTokens:
    """Tokens held in memory only: used to look at a new connection before keeping it."""

    description = "memory (not kept)"

    def __init__(self, tokens: dict[AnyProvider, TokenSet]) -> None:
        self._tokens = dict(tokens)

    def load(self, provider: AnyProvider) -> TokenSet | None:
        return self._tokens.get(provider)

    def save(self, provider: AnyProvider, tokens: TokenSet) -> None:
        self._tokens[provider] = tokens

    def delete(self, provider: AnyProvider) -> None:
        self._tokens.pop(provider, None)


class Workspace:
    """One config, its store and its token store."""

    def __init__(
        self, config: Config, *, token_store: TokenStore | None = None, store: Store | None = None
    ) -> None:
        """``store``: one already open as it is (doctor's, which must not create or upgrade it);
        by default the config's store is opened, created or migrated to the newest schema."""
        self.config = config
        self.store = store if store is not None else Store.open(config.store_url)
        self._tokens = token_store

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- secrets -------------------------------------------------------------------------------

    @property
    def namespace(self) -> str:
        """Tokens belong to a store: two configs with two stores never share a connection."""
        return hashlib.sha256(self.config.store_url.encode()).hexdigest()[:12]

    @property
    def tokens(self) -> TokenStore:
        if self._tokens is None:
            default = self.config.state_dir / "tokens.json"
            self._tokens = open_token_store(self.config.secrets, self.namespace, default_file=default)
        return self._tokens

    def oauth_app(self, provider: Provider) -> OAuthApp:
        """The OAuth application the config describes for ``provider``; ConfigError if incomplete."""
        section: ClioConfig | QboConfig | XeroConfig = getattr(self.config, provider)
        app = OAuthApp(
            provider,
            section.client_id,
            section.client_secret,
            section.authorize_endpoint,
            section.token_endpoint,
            section.revoke_endpoint,
            section.redirect_uri,
            scope=section.scope,
            client_auth=section.client_auth,
        )
        required = ("client_id",) if provider == "xero" else ("client_id", "client_secret")
        for key in required:
            if not getattr(app, key):
                where = self.config.source or "the config file"
                raise ConfigError(
                    f"{where}: key `{provider}.{key}` is empty: ledgerlink needs the OAuth credentials "
                    f"of your {provider_name(provider)} app.",
                    remedy=f"Set `{provider}.{key}` in the config or the environment variable "
                    f"LEDGERLINK_{provider.upper()}_{key.upper()}.",
                )
        return app

    def session(self, provider: Provider, tokens: TokenStore | None = None) -> OAuthSession:
        app = self.oauth_app(provider)
        return OAuthSession(
            provider,
            tokens or self.tokens,
            token_url=app.token_url,
            client_id=app.client_id,
            client_secret=app.client_secret,
            client_auth=app.client_auth,
        )

    # -- connecting ----------------------------------------------------------------------------

    def connect(
        self,
        provider: Provider,
        *,
        open_url: Callable[[str], None] | None,
        paste_redirect: Callable[[str], str] | None = None,
        confirm: Callable[[str], bool] = lambda question: False,
        choose_tenant: Callable[[Sequence[XeroTenant]], XeroTenant] | None = None,
    ) -> Connected:
        """Run the OAuth code flow, find out which company consented, and keep the connection.

        The same company again resumes its links. Another company of the same kind (or the other
        accounting system) replaces the active one only if ``confirm`` agrees: the old links are
        retired — kept for audit, never used for matching.
        """
        app = self.oauth_app(provider)
        tokens = authorize(
            provider,
            authorize_url=app.authorize_url,
            token_url=app.token_url,
            client_id=app.client_id,
            client_secret=app.client_secret,
            redirect_uri=app.redirect_uri,
            scope=app.scope,
            client_auth=app.client_auth,
            open_url=open_url,
            paste_redirect=paste_redirect,
        )
        if provider == "xero":
            tenant = self._xero_tenant(tokens, choose_tenant)
            tokens = replace(tokens, realm_id=tenant.tenant_id)
            name, external_id, region = tenant.tenant_name or tenant.tenant_id, tenant.tenant_id, None
        else:
            name, external_id, region = self._identify(provider, tokens)
        replaced = [
            conn
            for conn in self.store.connections()
            if conn.active and conn.provider in _rivals(provider) and conn.external_id != external_id
        ]
        if replaced and provider == "clio":
            old = replaced[0]
            raise UserError(
                f"This store holds the links of Clio account “{old.name}” ({old.external_id}); "
                f"“{name}” is a different Clio account.",
                remedy="Use a separate store: set [store] url in another config file and connect there.",
            )
        for old in replaced:
            count = self.store.link_count(old.id)
            question = (
                f"This store syncs into {provider_name(old.provider)} “{old.name}” ({count} linked records). "
                f"Connecting {provider_name(provider)} “{name}” instead retires those links: they stay for "
                "audit but are never used again. Continue?"
            )
            if not confirm(question):
                raise UserError(
                    f"Not connected to “{name}”: the store stays with “{old.name}”.",
                    remedy="Run the command again and confirm (or pass --yes) to switch companies.",
                )
        for old in replaced:
            self.store.retire_connection(old.id)
            self.tokens.delete(old.provider)
        self.tokens.save(provider, tokens)
        conn = self.store.upsert_connection(provider, external_id, name, region=region)
        return Connected(
            provider,
            name,
            external_id,
            region,
            self.tokens.description,
            resumed=self.store.link_count(conn.id),
        )

    def _identify(self, provider: Provider, tokens: TokenSet) -> tuple[str, str, str | None]:
        """Name, id and region of what the new tokens give access to (read before anything is kept)."""
        held = MemoryTokens({provider: tokens})
        if provider == "clio":
            try:
                with ClioClient.connect(self.config.clio.api_url, self.session("clio", held)) as clio:
                    me = clio.who_am_i()
            except AuthError:
                raise _wrong_region(self.config.clio) from None
            account = me.account
            if account:
                return account.name or "", str(account.id), self.config.clio.region
            return me.name or "", str(me.id), self.config.clio.region
        if not tokens.realm_id:
            raise AuthError("QuickBooks did not say which company was connected (no realmId).")
        with QboClient.connect(self.config.qbo.api_base, tokens.realm_id, self.session("qbo", held)) as qbo:
            info = qbo.company_info()
        return str(info.get("CompanyName", "")), tokens.realm_id, None

    def _xero_tenant(
        self, tokens: TokenSet, choose: Callable[[Sequence[XeroTenant]], XeroTenant] | None
    ) -> XeroTenant:
        """The organisation this consent connected; ``choose`` picks when it covered several."""
        # Only the organisations this sign-in added (an earlier consent may have added others).
        tenants = list_tenants(
            self.config.xero.connections_url,
            tokens.access_token,
            auth_event_id=auth_event_id_of(tokens.access_token),
        )
        if not tenants:
            raise AuthError(
                "Xero connected no organisation.",
                remedy="Run `ledgerlink connect xero` again and tick an organisation on Xero's consent page.",
            )
        if len(tenants) == 1:
            return tenants[0]
        if choose is None:
            names = ", ".join(f"“{t.tenant_name}”" for t in tenants)
            raise UserError(
                f"The consent covered several Xero organisations: {names}.",
                remedy="Run `ledgerlink connect xero --tenant NAME` to say which one this store syncs into.",
            )
        return choose(tenants)

    def disconnect(self, provider: Provider, *, purge: bool = False) -> Connection:
        """Revoke the tokens at the provider and forget them; keep the links unless ``purge``."""
        conn = self.store.active_connection(provider)
        if conn is None:
            known = [c for c in self.store.connections() if c.provider == provider and c.retired_at is None]
            if not known:
                raise UserError(f"Not connected to {provider_name(provider)}: nothing to disconnect.")
            conn = known[-1]
        if self.tokens.load(provider) is not None:
            self.session(provider).revoke(self.oauth_app(provider).revoke_url)
        self.store.mark_disconnected(conn.id)
        if purge:
            self.store.retire_connection(conn.id)
        return conn

    @property
    def target(self) -> Literal["qbo", "xero"]:
        """The books this config syncs into (config key ``target``)."""
        return self.config.target

    def require_connections(self) -> tuple[Connection, Connection]:
        """The Clio and ledger connections a pass needs; one error naming every missing one."""
        found: dict[Provider, Connection] = {}
        missing: list[Provider] = []
        both: tuple[Provider, ...] = ("clio", self.target)
        for provider in both:
            try:
                found[provider] = self.connection(provider)
            except AuthError:
                missing.append(provider)
        other: Provider = "qbo" if self.target == "xero" else "xero"
        elsewhere = self.store.active_connection(other)
        if self.target in missing and elsewhere is not None:
            raise UserError(
                f'This config syncs into {provider_name(self.target)} (target = "{self.target}"), but the '
                f"store is connected to the {provider_name(other)} company “{elsewhere.name}”.",
                remedy=f'Run `ledgerlink connect {self.target}`, or set target = "{other}" in the config.',
            )
        if missing:
            raise AuthError(
                f"Not connected to {' and '.join(provider_name(p) for p in missing)}.",
                remedy="Run " + " and ".join(f"`ledgerlink connect {p}`" for p in missing) + " first.",
            )
        return found["clio"], found[self.target]

    def connection(self, provider: Provider) -> Connection:
        found = self.store.active_connection(provider)
        if found is None or self.tokens.load(provider) is None:
            raise AuthError(
                f"Not connected to {provider_name(provider)}.",
                remedy=f"Run `ledgerlink connect {provider}` first.",
            )
        return found

    # -- clients -------------------------------------------------------------------------------

    def clio_client(self, *, sleep: Callable[[float], None] = time.sleep) -> ClioClient:
        """A client for the region the Clio connection was made in (tokens only work there)."""
        clio = self.config.clio
        conn = self.store.active_connection("clio")
        if conn is not None and conn.region and conn.region != clio.region and not clio.base_url:
            self.use_clio_region(conn.region)
        return ClioClient.connect(self.config.clio.api_url, self.session("clio"), sleep=sleep)

    def use_clio_region(self, region: str) -> None:
        """Talk to Clio's ``region`` (us, ca, eu, au) from now on in this workspace."""
        if region not in CLIO_REGIONS:
            raise UserError(
                f"Unknown Clio region “{region}”.", remedy=f"Use one of: {', '.join(sorted(CLIO_REGIONS))}."
            )
        clio = self.config.clio.model_copy(update={"region": region})
        self.config = self.config.model_copy(update={"clio": clio})

    def qbo_client(self, realm_id: str, *, sleep: Callable[[float], None] = time.sleep) -> QboClient:
        limiter = RateLimiter(per_second=self.config.qbo.requests_per_second, sleep=sleep)
        return QboClient.connect(
            self.config.qbo.api_base, realm_id, self.session("qbo"), limiter=limiter, sleep=sleep
        )

    def xero_client(self, tenant_id: str, *, sleep: Callable[[float], None] = time.sleep) -> XeroClient:
        """The Xero Accounting API client for one organisation (its limiter is per organisation)."""
        return XeroClient.connect(self.config.xero.api_base, tenant_id, self.session("xero"), sleep=sleep)

    # -- syncing -------------------------------------------------------------------------------

    @contextmanager
    def both_sides(self) -> Iterator[tuple[ClioSource, Ledger, Connection]]:
        """Clio as the source and the connected ledger (QBO or Xero, per ``target``), open meanwhile."""
        _clio, ledger_conn = self.require_connections()
        with self.clio_client() as clio:
            if self.target == "xero":
                from ledgerlink.providers.xero.ledger import XeroLedger

                with self.xero_client(ledger_conn.external_id) as xero:
                    yield (
                        ClioSource(clio),
                        XeroLedger(xero, append_contact_id=self.config.xero.append_contact_id),
                        ledger_conn,
                    )
            else:
                with self.qbo_client(ledger_conn.external_id) as qbo:
                    yield ClioSource(clio), QboLedger(qbo), ledger_conn

    @contextmanager
    def qbo_sides(self, feature: str) -> Iterator[tuple[ClioSource, QboLedger, Connection]]:
        """Clio and QuickBooks Online, for a feature only QBO has; a Xero target is told so."""
        self.only_qbo(feature)
        with self.both_sides() as (source, ledger, conn):
            assert isinstance(ledger, QboLedger)
            yield source, ledger, conn

    def only_qbo(self, feature: str) -> None:
        """Refuse a QuickBooks-only feature when this config syncs into Xero."""
        if self.target != "qbo":
            raise UserError(
                f"{feature} works with QuickBooks Online only; this config syncs into Xero.",
                remedy='Set target = "qbo" in the config to use it.',
            )

    def sync_config(self) -> Config:
        """The config as a pass into this target reads it.

        Xero: no trust postings (the config holds only Clio account names, for `report trust`), and
        an empty mapping.payment_account is seed 004's "None": payments are not synced.
        """
        if self.target != "xero":
            return self.config
        sync = self.config.sync
        if not self.config.mapping.payment_account:
            sync = sync.model_copy(update={"payments": False})
        trust = self.config.trust.model_copy(update={"accounts": ()})
        return self.config.model_copy(update={"sync": sync, "trust": trust})

    def sync_once(
        self,
        *,
        dry_run: bool = False,
        should_stop: Callable[[], bool] = lambda: False,
        on_progress: ProgressFn | None = None,
        on_plan: PlanFn | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        since: date | None = None,
        allow_mass_change: bool = False,
        only_contacts: bool = False,
        contact_ids: Collection[str] = (),
    ) -> PassResult:
        """One pass Clio → ledger; raises a LedgerlinkError for systemic faults.

        ``since``: a one-off backfill of the bills issued on or after that date. ``only_contacts``:
        push every Clio client now and nothing else; ``contact_ids``: push just those contacts.
        """
        with self.both_sides() as (source, ledger, ledger_conn):
            sync = SyncPass(
                side_phases=self._side_phases(source, ledger, ledger_conn.id, clock),
                source=source,
                ledger=ledger,
                store=self.store,
                connection_id=ledger_conn.id,
                config=self.sync_config(),
                clock=clock,
                should_stop=should_stop,
                on_progress=on_progress,
                on_plan=on_plan,
                since=since,
                allow_mass_change=allow_mass_change,
            )
            if only_contacts or contact_ids:
                return sync.run_contacts(contact_ids or None, dry_run=dry_run)
            return sync.run(dry_run=dry_run)

    def _side_phases(
        self, source: ClioSource, ledger: Ledger, connection_id: int, clock: Callable[[], datetime]
    ) -> list[SidePhase]:
        """The configured phases that run after the Clio → ledger phases of a full pass."""
        phases: list[SidePhase] = []
        if isinstance(ledger, XeroLedger):
            if self.config.xero.hard_costs.enabled:
                xero, store, config = ledger.client, self.store, self.config
                phases.append(
                    lambda result: run_spend_money(
                        source.client,
                        xero,
                        store,
                        connection_id,
                        config,
                        result,
                        clock=clock,
                        chart=ledger.chart(),
                    )
                )
            return phases
        if not isinstance(ledger, QboLedger):
            return phases
        args = (source, ledger, self.store, connection_id, self.config)
        if self.config.imports.hard_costs.enabled:
            phases.append(
                lambda result: run_hard_cost_import(*args, result, today=clock().date(), clock=clock)
            )
        if self.config.payroll.enabled:
            phases.append(lambda result: run_payroll(*args, result, today=clock().date(), now=clock()))
        return phases

    # -- reports -------------------------------------------------------------------------------

    def trust_checks(self, as_of: date, *, today: date) -> list[TrustCheck]:
        """The three-way check of every configured trust account on ``as_of``.

        Against a Xero organisation (which cannot receive trust postings) only Clio's side is checked.
        """
        if not self.config.trust.accounts:
            raise ConfigError(
                "No trust accounts are configured.",
                remedy="Add a [[trust.accounts]] entry to the config (see examples/config.toml).",
            )
        if self.target == "xero":
            return self._clio_trust_checks(as_of, today=today)
        with self.qbo_sides("The trust books check") as (source, ledger, ledger_conn):
            setups = resolve_trust(self.config, source, ledger, start_date=lambda account: today)
            links = self.store.links(ledger_conn.id, "contact")
            customers = {link.target_id: client for client, link in links.items()}
            checks = []
            for setup in setups:
                transactions = source.trust_transactions(setup.account.source_id)
                books = ledger.trust_books(setup.bank_account, setup.liability_account, as_of)
                names = _client_names(transactions, links)
                checks.append(
                    three_way(
                        setup.account, transactions, books, customers, names, as_of, today, ledger.title
                    )
                )
            return checks

    def _clio_trust_checks(self, as_of: date, *, today: date) -> list[TrustCheck]:
        self.connection("clio")
        with self.clio_client() as clio:
            source = ClioSource(clio)
            accounts = source.trust_accounts()
            checks = []
            for entry in self.config.trust.accounts:
                account = clio_account_named(accounts, entry.clio_account)
                if account is None:
                    raise ConfigError(
                        f"Clio has no open trust account named “{entry.clio_account}”.",
                        remedy="Fix trust.accounts[].clio_account in the config.",
                    )
                transactions = source.trust_transactions(account.source_id)
                names = _client_names(transactions, {})
                checks.append(three_way(account, transactions, None, {}, names, as_of, today, None))
            return checks


def _client_names(transactions: Sequence[TrustTransaction], links: Mapping[str, Link]) -> dict[str, str]:
    """Clio contact id → name, from the trust ledger (and the names remembered on contact links)."""
    names = {
        s: str(link.snapshot["name"])
        for s, link in links.items()
        if link.snapshot and link.snapshot.get("name")
    }
    names.update({t.client_id: t.client_name for t in transactions if t.client_id and t.client_name})
    return names
