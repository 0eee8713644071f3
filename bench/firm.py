"""A firm of any size for the benchmark: contacts, matters, five-line bills, payments, credits, trust.

Deterministic for a seed. The proportions follow the demo firm (``ledgerlink.sandbox.clio_seed``),
scaled: one client per ten bills (a few never billed), one or two matters each; of the bills 62 %
paid, 25 % awaiting payment (a fifth of those half paid), 8 % drafts, 3 % void, 2 % deleted; a
courtesy credit note on every ninth unpaid bill; one client in twenty holds money in trust (a
retainer, a disbursement, and a tenth of their paid bills paid from trust). Every line's category
is mapped in the demo config, so a clean firm syncs without per-record errors: the benchmark
measures speed, the demo shows the errors.

The ledger half is the demo's books, so the config ``ledgerlink demo`` writes fits them unchanged:
for QuickBooks the demo company (chart of accounts, Products/Services, vendors), for Xero the demo
organisation (the default chart plus the firm's account codes, :mod:`ledgerlink.sandbox.xero_demo`).

Assumptions: names are made unique with a number (QuickBooks' DisplayName is unique per company,
and a real firm's clients have distinct names); issue dates spread over 2026-01-02 .. 2026-11-20.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from ledgerlink.demo import Target
from ledgerlink.sandbox import Sandbox
from ledgerlink.sandbox.clio import ClioEmulator
from ledgerlink.sandbox.clio_http import FIRM_TZ
from ledgerlink.sandbox.clio_seed import EXPENSES, SALES_TAX_RATE, USERS, WORK
from ledgerlink.sandbox.demo_firm import (
    ACTIVITY_CATEGORIES,
    CLIO_ACCOUNT_ID,
    CLIO_TRUST_ACCOUNT,
    EXPENSE_CATEGORIES,
    FIRM_NAME,
    UNMAPPED_EXPENSE_CATEGORY,
    XERO_ORG_TENANT_ID,
)
from ledgerlink.sandbox.qbo_seed import seed_qbo_demo
from ledgerlink.sandbox.xero_identity import seed_xero_organisations

LINES_PER_BILL = 5
BILLS_PER_CLIENT = 10
TRUST_CLIENT_EVERY = 20
CREDIT_NOTE_EVERY = 9
# (state, share of bills); "paid" bills get a payment of their whole balance.
STATES = (
    ("paid", 62),
    ("awaiting_payment", 25),
    ("draft", 8),
    ("void", 3),
    ("deleted", 2),
)
FIRST_NAMES = (
    "Samuel", "Rebecca", "Tomás", "Aisha", "Jonathan", "Mei-Ling", "Gregory", "Fatima", "Daniel", "Olivia",
    "Marcus", "Hannah", "Rafael", "Catherine", "Ethan", "Naomi", "Zoë", "Łukasz", "Patrick", "Ingrid",
)  # fmt: skip
LAST_NAMES = (
    "Okafor", "Lindqvist", "Herrera", "Rahman", "Pryce", "Chow", "Ashworth", "Al-Sayed", "Kowalski",
    "Brennan", "Thibodeaux", "Goldberg", "Mendoza", "Nakamura", "Calloway", "Fischer", "O'Brien", "Sørensen",
)  # fmt: skip
COMPANY_WORDS = (
    "Harbor",
    "Northgate",
    "Bluestone",
    "Meridian",
    "Oakhurst",
    "Saffron",
    "Quantum",
    "Lakeshore",
)
COMPANY_KINDS = ("Realty LLC", "Logistics Inc.", "Dental Group PC", "Software Corp.", "Construction Co.")
SUBJECTS = ("Commercial lease dispute", "Estate planning", "Asset purchase", "Contract breach litigation")
FIRST_DAY = date(2026, 1, 2)
DAYS = 322  # up to 2026-11-20


@dataclass(frozen=True)
class FirmSize:
    """What was built: the records a first sync has to read and write."""

    contacts: int
    clients: int
    matters: int
    bills: Counter[str]
    line_items: int
    activities: int
    payments: int
    payments_from_trust: int
    credit_notes: int
    trust_transactions: int

    @property
    def approved_bills(self) -> int:
        return self.bills["paid"] + self.bills["awaiting_payment"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "contacts": self.contacts,
            "clients": self.clients,
            "matters": self.matters,
            "bills": dict(self.bills),
            "bills_total": sum(self.bills.values()),
            "approved_bills": self.approved_bills,
            "line_items": self.line_items,
            "activities": self.activities,
            "payments": self.payments,
            "payments_from_trust": self.payments_from_trust,
            "credit_notes": self.credit_notes,
            "trust_transactions": self.trust_transactions,
        }


def build_firm(box: Sandbox, *, bills: int, seed: int = 20261204, target: Target = "qbo") -> FirmSize:
    """Fill a fresh sandbox with a firm of ``bills`` bills in Clio and the demo's books in ``target``."""
    open_books(box, target)
    return _Builder(box.clio, random.Random(seed)).build(bills)


def open_books(box: Sandbox, target: Target) -> None:
    """The books the firm syncs into: the demo company (QBO) or the demo organisation (Xero)."""
    if target == "xero":
        seed_xero_organisations(box.state)
        box.xero.open_demo_books(XERO_ORG_TENANT_ID)
    else:
        seed_qbo_demo(box.qbo)


class _Builder:
    def __init__(self, emu: ClioEmulator, rng: random.Random) -> None:
        self.emu = emu
        self.rng = rng
        self.names: set[str] = set()
        self.counts: Counter[str] = Counter()

    def build(self, bills: int) -> FirmSize:
        emu, rng = self.emu, self.rng
        emu.set_account(int(CLIO_ACCOUNT_ID), FIRM_NAME)
        self.users = [emu.add_user(**values) for values in USERS]
        emu.set_billing_settings(
            tax_name="Sales Tax", tax_rate=SALES_TAX_RATE, use_secondary_tax=False, currency="USD"
        )
        self.descriptions = {n: emu.add_activity_description(name=n)["id"] for n in ACTIVITY_CATEGORIES}
        self.categories = {n: emu.add_expense_category(name=n)["id"] for n in EXPENSE_CATEGORIES}
        self.trust_account = emu.add_bank_account(
            type="Trust", name=CLIO_TRUST_ACCOUNT, default_account=True, holder=FIRM_NAME
        )["id"]
        client_count = max(1, bills // BILLS_PER_CLIENT)
        clients = [self._contact(index, client=True) for index in range(client_count)]
        for index in range(max(1, client_count // 20)):  # contacts never billed
            self._contact(client_count + index, client=False)
        matters: list[dict[str, Any]] = []
        for number, client in enumerate(clients + clients[: client_count // 2], start=1):
            matters.append(
                emu.add_matter(
                    client=client,
                    number=number,
                    display_number=f"{number:05d}",
                    description=rng.choice(SUBJECTS),
                    open_date=date(2025, 9, 1) + timedelta(days=rng.randint(0, 120)),
                    responsible_attorney=rng.choice(self.users[:3])["id"],
                )
            )
        trust_clients = set(clients[::TRUST_CLIENT_EVERY])
        for client in sorted(trust_clients):
            matter = next(m for m in matters if m["client"] == client)
            emu.trust_deposit(
                client,
                Decimal("250000.00"),
                date=date(2026, 1, 2),
                matter_id=matter["id"],
                description="Retainer deposit",
                reference=f"WIRE {client}",
                account_id=self.trust_account,
            )
            emu.trust_disbursement(
                client,
                Decimal("1250.00"),
                date=date(2026, 6, 1),
                matter_id=matter["id"],
                description="Filing and appraisal fees",
                reference=f"CHK {client}",
                account_id=self.trust_account,
            )
            self.counts["trust_transactions"] += 2
        states = [state for state, share in STATES for _ in range(share)]
        issued = sorted(FIRST_DAY + timedelta(days=rng.randrange(DAYS)) for _ in range(bills))
        unpaid: list[dict[str, Any]] = []
        for number, day in enumerate(issued, start=10001):
            matter = rng.choice(matters)
            state = rng.choice(states)
            bill = self._bill(matter, str(number), day, state)
            self.counts[f"bill:{state}"] += 1
            if state == "paid":
                from_trust = matter["client"] in trust_clients and rng.random() < 0.1
                paid_on = datetime.combine(day + timedelta(days=rng.randint(3, 40)), time(15, 0), FIRM_TZ)
                emu.record_payment(bill["id"], paid_at=paid_on, from_trust=from_trust)
                self.counts["payments"] += 1
                self.counts["payments_from_trust"] += from_trust
                self.counts["trust_transactions"] += from_trust
            elif state == "awaiting_payment":
                balance = emu.get("bill", bill["id"])["balance"]
                if rng.random() < 0.2 and balance > 1:
                    emu.record_payment(bill["id"], amount=(balance / 2).quantize(Decimal("0.01")))
                    self.counts["payments"] += 1
                    balance = emu.get("bill", bill["id"])["balance"]
                if balance > 100:
                    unpaid.append({**bill, "balance": balance})
        for bill in unpaid[::CREDIT_NOTE_EVERY]:
            emu.add_credit_memo(
                bill["client"],
                {bill["id"]: (bill["balance"] / 10).quantize(Decimal("0.01"))},
                date=bill["issued_at"] + timedelta(days=10),
                description="Courtesy discount",
            )
            self.counts["credit_notes"] += 1
        return FirmSize(
            contacts=self.counts["contacts"],
            clients=client_count,
            matters=len(matters),
            bills=Counter(
                {k.removeprefix("bill:"): v for k, v in self.counts.items() if k.startswith("bill:")}
            ),
            line_items=self.counts["line_items"],
            activities=self.counts["line_items"],
            payments=self.counts["payments"],
            payments_from_trust=self.counts["payments_from_trust"],
            credit_notes=self.counts["credit_notes"],
            trust_transactions=self.counts["trust_transactions"],
        )

    def _unique(self, name: str) -> str:
        candidate, n = name, 1
        while candidate in self.names:
            n += 1
            candidate = f"{name} {n}"
        self.names.add(candidate)
        return candidate

    def _contact(self, index: int, *, client: bool) -> int:
        rng = self.rng
        self.counts["contacts"] += 1
        address = {
            "name": "Work",
            "street": f"{rng.randint(10, 980)} Hudson Street",
            "city": "New York",
            "province": "NY",
            "postal_code": f"100{rng.randint(10, 99)}",
            "country": "United States",
            "primary": True,
        }
        phone = {"name": "Work", "number": f"(212) 555-{rng.randint(1000, 9999)}", "primary": True}
        if index % 3:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            unique = self._unique(f"{first} {last}")
            last = unique.removeprefix(f"{first} ")
            email = f"client{index}@example.com"
            record = self.emu.add_contact(
                type="Person",
                first_name=first,
                last_name=last,
                is_client=client,
                email_addresses=[{"name": "Work", "address": email, "primary": True}],
                phone_numbers=[phone],
                addresses=[address],
            )
        else:
            name = self._unique(f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}")
            record = self.emu.add_contact(
                type="Company",
                name=name,
                is_client=client,
                email_addresses=[
                    {"name": "Work", "address": f"accounts{index}@example.com", "primary": True}
                ],
                phone_numbers=[phone],
                addresses=[address],
            )
        return int(record["id"])

    def _bill(self, matter: dict[str, Any], number: str, day: date, state: str) -> dict[str, Any]:
        emu, rng = self.emu, self.rng
        approved = state in ("awaiting_payment", "paid")
        taxable = rng.random() < 0.25
        bill = emu.add_bill(
            client=matter["client"],
            matters=[matter["id"]],
            number=number,
            state="awaiting_payment" if approved else state,
            issued_at=day,
            due_at=day + timedelta(days=30),
            tax_rate=SALES_TAX_RATE,
            created_at=datetime.combine(day, time(10, 0), FIRM_TZ).astimezone(UTC),
            interest={"rate": Decimal(0), "total": Decimal(0)},
            subject=matter["description"],
            memo=f"Professional services: {matter['display_number']}",
            user=matter["responsible_attorney"],
        )
        for _ in range(LINES_PER_BILL):
            worked = day - timedelta(days=rng.randint(1, 28))
            if rng.random() < 0.7:
                category = rng.choice(ACTIVITY_CATEGORIES)
                user = rng.choice(self.users)
                quantity, price = Decimal(rng.randint(2, 60)) / 10, user["rate"]
                note = rng.choice(WORK[category]).format(matter["description"].lower())
                work: dict[str, Any] = {
                    "type": "TimeEntry",
                    "quantity_in_hours": quantity,
                    "activity_description": self.descriptions[category],
                }
                kind, user_id = "Service", user["id"]
            else:
                category = rng.choice([c for c in EXPENSE_CATEGORIES if c != UNMAPPED_EXPENSE_CATEGORY])
                note, (low, high) = EXPENSES[category]
                quantity, price = Decimal(1), Decimal(rng.randint(int(low * 100), int(high * 100))) / 100
                work = {"type": "ExpenseEntry", "expense_category": self.categories[category]}
                kind, user_id = "Expense", matter["responsible_attorney"]
            activity = emu.add_activity(
                **work, date=worked, matter=matter["id"], user=user_id, price=price, note=note
            )
            emu.add_line_item(
                bill=bill["id"],
                activity=activity["id"],
                kind=kind,
                description=note,
                date=worked,
                quantity=quantity,
                price=price,
                taxable=taxable and rng.random() < 0.7,
            )
            self.counts["line_items"] += 1
        return bill
