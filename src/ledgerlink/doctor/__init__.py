"""`ledgerlink doctor`: the checks a bookkeeper runs before trusting a sync, one line each.

Each check is ✓ (fine), ✗ (a sync would fail or post wrongly; with the remedy) or ! (works, but
worth knowing), in five sections: Setup (config, connections, consent), QuickBooks Online (the
settings seed 000 asks for, invoice numbers that would collide with Clio's), Mapping (what
``[mapping]`` and ``[[trust.accounts]]`` name exists, is active and of the right type; tax rates),
Contacts (Clio clients whose names clash in QuickBooks) and Store (its schema).

The checks are pure functions over what was read (``model``, ``setup``, ``books``, ``mapping``,
``contacts``, ``store``); :func:`run_checks` does the reading. Doctor writes nothing: no remote
record, no store row, and it neither creates nor upgrades the store (a token refresh may still
rotate the tokens, as any request can).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from sqlalchemy.exc import SQLAlchemyError

from ledgerlink.auth.tokens import TokenStore, provider_name
from ledgerlink.config import Config
from ledgerlink.doctor import books, contacts, imports, mapping, setup, xero
from ledgerlink.doctor.model import (
    BOOKS,
    CONTACTS,
    MAPPING,
    SETUP,
    XERO,
    Check,
    by_section,
    exit_code,
    fail,
    warn,
)
from ledgerlink.doctor.store import code_schema, read_store, schema_check
from ledgerlink.errors import LedgerlinkError, SystemicError
from ledgerlink.providers.clio.source import ClioSource
from ledgerlink.providers.qbo.ledger import QboLedger
from ledgerlink.store import Connection, Store, create_store_engine
from ledgerlink.sync.flows import contacts as contact_flow
from ledgerlink.sync.flows import invoices as invoice_flow
from ledgerlink.sync.mapping import configured_items
from ledgerlink.sync.ports import Ledger
from ledgerlink.workspace import Workspace

__all__ = ["Check", "by_section", "exit_code", "run_checks"]

IN_MEMORY = "sqlite://"


def run_checks(
    config: Config, *, token_store: TokenStore | None = None, now: float | None = None
) -> list[Check]:
    """Every check for ``config``'s store, connections and companies; reads only."""
    now = time.time() if now is None else now
    state = read_store(config.store_url)
    store_check = schema_check(state, code_schema())
    checks = [setup.config_check(config)]
    if state.error is not None:
        return [*checks, store_check]
    # No store yet: an empty one in memory answers "not connected" without creating a file.
    store = Store.open(IN_MEMORY) if state.revision is None else Store(create_store_engine(config.store_url))
    with Workspace(config, token_store=token_store, store=store) as workspace:
        try:
            connected = [setup.connection_check(workspace, p, now=now) for p in ("clio", config.target)]
        except SQLAlchemyError as exc:
            unreadable = fail(
                "store.read",
                SETUP,
                f"connections not checked: the store cannot be read ({str(exc).splitlines()[0]})",
                "see the Store line below",
            )
            return [*checks, unreadable, store_check]
        checks += connected
        if any(c.status != "fail" for c in connected):
            checks.append(setup.tokens_check(workspace))
        if any(c.status == "fail" for c in connected):
            checks.append(
                warn(
                    "remote",
                    SETUP,
                    f"{provider_name(config.target)} settings, mapping, trust accounts and contacts "
                    "not checked",
                    f"connect Clio and {provider_name(config.target)}, then run doctor again",
                )
            )
        else:
            try:
                checks += _remote_checks(workspace)
            except LedgerlinkError as exc:  # the clients could not even be set up (config, tokens)
                checks.append(
                    fail("remote", SETUP, f"Clio and QuickBooks Online not reached: {exc}", exc.remedy)
                )
    return [*checks, store_check]


Step = tuple[str, str, Callable[[], list[Check]]]


def _remote_checks(workspace: Workspace) -> list[Check]:
    """The checks that read Clio and the ledger; one that cannot read says so and the rest go on."""
    if workspace.target == "xero":
        return _xero_checks(workspace)
    config = workspace.config
    with workspace.qbo_sides("doctor") as (source, ledger, conn):
        title = ledger.title
        store = workspace.store
        steps: list[Step] = [
            (BOOKS, "QuickBooks Online settings", lambda: _settings_checks(ledger)),
            (
                BOOKS,
                "bill numbers",
                lambda: [
                    books.numbering_check(
                        source.latest_bill_numbers(),
                        ledger.invoice_numbers(),
                        {link.target_id for link in store.links(conn.id, invoice_flow.KIND).values()},
                        ledger_title=title,
                    )
                ],
            ),
            (MAPPING, "mapping", lambda: _mapping_checks(config, ledger)),
            (MAPPING, "tax rates", lambda: _tax_rate_checks(config, source, ledger)),
            (MAPPING, "trust accounts", lambda: _trust_checks(config, source, ledger)),
            *(
                [(BOOKS, "hard-cost import", lambda: _hard_cost_checks(config, ledger))]
                if config.imports.hard_costs.enabled
                else []
            ),
            _contacts_step(store, source, ledger, conn),
        ]
        return _run(steps)


def _xero_checks(workspace: Workspace) -> list[Check]:
    """A Xero target: the chart of accounts behind [mapping] and [xero.hard_costs], and Xero's limits."""
    config = workspace.config
    with workspace.both_sides() as (source, ledger, conn):
        store = workspace.store
        wanted = configured_items(config.mapping)
        codes = [config.xero.hard_costs.bank_account, config.xero.hard_costs.expense_account]
        payment = config.mapping.payment_account if config.sync.payments else ""
        steps: list[Step] = [
            (XERO, "contact names", lambda: [xero.contact_name_check(config), *xero.trust_check(config)]),
            (MAPPING, "mapping", lambda: xero.mapping_checks(wanted, ledger.missing_items(wanted))),
            (
                MAPPING,
                "payment account",
                lambda: [
                    xero.payment_account_check(config, bool(payment and ledger.missing_accounts([payment])))
                ],
            ),
            (
                XERO,
                "hard costs",
                lambda: xero.hard_cost_checks(config, ledger.accounts([c for c in codes if c])),
            ),
            _contacts_step(store, source, ledger, conn),
        ]
        return _run(steps)


def _contacts_step(store: Store, source: ClioSource, ledger: Ledger, conn: Connection) -> Step:
    """Clio clients whose names the ledger already holds (any ledger)."""

    def produce() -> list[Check]:
        linked = {s: link.target_id for s, link in store.links(conn.id, contact_flow.KIND).items()}
        return contacts.contact_checks(
            source.clients(),
            linked,
            ledger.customers(),
            ledger.name_holders(),
            display_name=ledger.display_name,
            ledger_title=ledger.title,
        )

    return (CONTACTS, "contacts", produce)


def _run(steps: Sequence[Step]) -> list[Check]:
    checks: list[Check] = []
    for index, (section, what, produce) in enumerate(steps):
        try:
            checks += produce()
        except LedgerlinkError as exc:
            checks.append(fail(f"{section}.unread", section, f"{what}: not checked: {exc}", exc.remedy))
            if isinstance(exc, SystemicError):  # auth gone, say: every later read would fail alike
                rest = ", ".join(w for _s, w, _p in steps[index + 1 :])
                if rest:
                    checks.append(warn("remote", section, f"not checked either: {rest}", exc.remedy))
                break
    return checks


def _settings_checks(ledger: QboLedger) -> list[Check]:
    settings = ledger.settings()
    return [
        books.custom_numbers_check(settings.custom_numbers, ledger_title=ledger.title),
        books.bill_number_warning_check(),
    ]


def _mapping_checks(config: Config, ledger: QboLedger) -> list[Check]:
    wanted = configured_items(config.mapping)
    if not wanted:
        return [
            fail(
                "mapping.items",
                MAPPING,
                "[mapping] names no Product/Service: no bill can be posted",
                'map Clio\'s charges in the config, e.g. [mapping] time_entries = "Legal Services"',
            )
        ]
    problems = mapping.item_problems(wanted, ledger.products_and_services(), ledger_title=ledger.title)
    account = config.mapping.payment_account if config.sync.payments else ""
    if account:
        problems += mapping.account_problems(
            account, "mapping.payment_account", ledger.chart_of_accounts(), ledger_title=ledger.title
        )
    settings = ledger.settings()
    problems += mapping.tax_code_problems(
        config.mapping, settings.tax_codes, computes_tax=settings.computes_tax, ledger_title=ledger.title
    )
    if any(p.status == "fail" for p in problems):
        return problems
    codes = len(config.mapping.tax_codes.named()) if settings.computes_tax else 0
    return [mapping.mapping_summary(len(wanted), account, codes), *problems]


def _tax_rate_checks(config: Config, source: ClioSource, ledger: QboLedger) -> list[Check]:
    settings = ledger.settings()
    if not settings.computes_tax:
        return []  # Clio's tax arrives as invoice lines: there is no ledger rate to compare
    return mapping.tax_rate_checks(
        source.tax_settings(), config.mapping, settings.tax_codes, ledger_title=ledger.title
    )


def _hard_cost_checks(config: Config, ledger: QboLedger) -> list[Check]:
    settings = config.imports.hard_costs
    name = settings.qbo_account
    account = ledger.accounts([name]).get(name) if name else None
    return imports.hard_cost_checks(settings, ledger.purchase_preferences(), account)


def _trust_checks(config: Config, source: ClioSource, ledger: QboLedger) -> list[Check]:
    entries = config.trust.accounts
    if not entries:
        return []
    names = {n for e in entries for n in (e.qbo_bank_account, e.qbo_liability_account)}
    return setup.trust_checks(
        entries, source.trust_accounts(), ledger.accounts(names), ledger_title=ledger.title
    )
