"""The Clio half of the demo firm: Hartwell & Osei LLP, a US litigation and transactions practice.

Deterministic (a fixed random seed): the same contacts, matters, bills and amounts on every run.
Besides ordinary clients it holds the records that make a sync earn its keep: unicode,
apostrophe and backslash names, a company name longer than QBO's 100 characters, a person
without email, a client whose name is already a QBO vendor, a client that already exists in QBO,
bills in every state, an unmapped expense category, zero and negative lines, an empty approved
bill, a bill number longer than QBO's 21 characters, bills issued in 2025, and contacts that
were never billed.

Its trust account ("IOLTA Trust Account") holds a year of client money: retainer deposits for
eight clients, disbursements, a matter-to-matter transfer between two clients, two paid trust
requests, two revenue bills paid from trust (bills the revenue demo pays anyway: paid from trust
instead of directly), a deposit corrected after it was entered, and two cheques printed through
QuickBooks (one to a court vendor, one returning a retainer to its client). Every client's trust
balance stays at or above zero at every point.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from ledgerlink.sandbox.clio import ClioEmulator
from ledgerlink.sandbox.clio_http import FIRM_TZ
from ledgerlink.sandbox.demo_firm import (
    ACTIVITY_CATEGORIES,
    CLIO_ACCOUNT_ID,
    CLIO_TRUST_ACCOUNT,
    CREDIT_NOTE_EVERY,
    EXISTING_CUSTOMER_EMAIL,
    EXISTING_CUSTOMER_NAME,
    EXPENSE_CATEGORIES,
    FIRM_NAME,
    TRUST_CHEQUE_VENDOR,
    UNMAPPED_EXPENSE_CATEGORY,
    VENDOR_CONFLICT_NAME,
)

RANDOM_SEED = 20260101
SALES_TAX_RATE = Decimal("8.875")
# Over QBO's 100-character CompanyName limit (exactly 120 characters).
LONG_COMPANY_NAME = (
    "Consolidated Tri-State Agricultural Equipment Manufacturers, Distributors, Dealers, and Servicers"
    " Association of America"
)
BACKSLASH_COMPANY_NAME = "Back\\Slash Holdings"
NO_EMAIL_PERSON = ("Marguerite", "Delacroix-Bell")
LONG_BILL_NUMBER = "INV-2026-HARTWELL-000123"  # 24 characters, over QBO's 21-character DocNumber

_EXISTING_FIRST, _, _EXISTING_LAST = EXISTING_CUSTOMER_NAME.partition(" ")

# (first, last) of person clients; the first five are the special ones.
PERSON_CLIENTS: tuple[tuple[str, str], ...] = (
    (_EXISTING_FIRST, _EXISTING_LAST),
    ("Zoë", "Åkesson-Nuñez"),
    ("Łukasz", "Żółć"),
    ("Patrick", "O'Brien"),
    NO_EMAIL_PERSON,
    ("Samuel", "Okafor"), ("Rebecca", "Lindqvist"), ("Tomás", "Herrera"), ("Aisha", "Rahman"),
    ("Jonathan", "Pryce"), ("Mei-Ling", "Chow"), ("Gregory", "Ashworth"), ("Fatima", "Al-Sayed"),
    ("Daniel", "Kowalski"), ("Olivia", "Brennan"), ("Marcus", "Thibodeaux"), ("Hannah", "Goldberg"),
    ("Rafael", "Mendoza"), ("Catherine", "Nakamura"), ("Ethan", "Calloway"), ("Naomi", "Fischer"),
    ("Ingrid", "Sørensen"),
)  # fmt: skip
COMPANY_CLIENTS: tuple[str, ...] = (
    VENDOR_CONFLICT_NAME,
    BACKSLASH_COMPANY_NAME,
    LONG_COMPANY_NAME,
    "Harbor & Pine Realty LLC", "Northgate Logistics Inc.", "Bluestone Dental Group PC",
    "Meridian Software Corp.", "Caldwell Family Trust", "Oakhurst Construction Co.",
    "Saffron Table Restaurants LLC", "Quantum Biolabs Inc.", "Lakeshore Veterinary Clinic",
    "Greenfield Farms Cooperative", "Atlas Freight Partners LP",
)  # fmt: skip
# Contacts with no bill at all: the sync must leave them alone.
NEVER_BILLED_PEOPLE: tuple[tuple[str, str], ...] = (
    ("Kevin", "Doyle"), ("Laura", "Pemberton"), ("Alan", "Whitcombe"), ("Margaret", "Ellison"),
)  # fmt: skip
NEVER_BILLED_COMPANIES = ("Sterling & Voss LLP", "Riverside Community Bank", "City Courier Co")
# Clients with a matter but no bill yet.
UNBILLED_CLIENTS = ("Ingrid Sørensen", "Atlas Freight Partners LP")

USERS = (
    dict(first_name="Eleanor", last_name="Hartwell", email="eleanor@hartwellosei.example", account_owner=True,
         roles=["admin"], rate=Decimal("450.00"), subscription_type="Attorney"),
    dict(first_name="Kwame", last_name="Osei", email="kwame@hartwellosei.example", roles=["admin", "billing"],
         rate=Decimal("425.00"), subscription_type="Attorney"),
    dict(first_name="Sofia", last_name="Marchetti", email="sofia@hartwellosei.example", roles=[],
         rate=Decimal("285.00"), subscription_type="Attorney"),
    dict(first_name="Jamal", last_name="Whitaker", email="jamal@hartwellosei.example", roles=["billing"],
         rate=Decimal("150.00"), subscription_type="NonAttorney"),
)  # fmt: skip

MATTER_SUBJECTS = (
    "Commercial lease dispute", "Estate planning", "Wrongful termination claim", "Asset purchase",
    "Trademark registration", "Contract breach litigation", "Real estate closing", "Partnership dissolution",
    "Construction lien claim", "Regulatory compliance review", "Personal injury claim",
    "Custody modification",
)  # fmt: skip
WORK = {
    "Research": ("Research case law on {}", "Research statutory requirements for {}"),
    "Court Appearance": ("Appear at hearing re {}", "Attend status conference re {}"),
    "Drafting": ("Draft memorandum re {}", "Revise agreement for {}", "Draft motion re {}"),
    "Client Meeting": ("Meet with client re {}", "Strategy call with client re {}"),
    "Correspondence": ("Correspondence with opposing counsel re {}", "Email client update re {}"),
}
EXPENSES = {
    "Filing Fees": ("Court filing fee", (Decimal("35"), Decimal("450"))),
    "Travel": ("Mileage and parking", (Decimal("18"), Decimal("320"))),
    "Photocopies": ("Photocopies and binding", (Decimal("4"), Decimal("95"))),
    "Expert Witness": ("Expert witness retainer", (Decimal("750"), Decimal("4500"))),
    "Process Server Fees": ("Service of process", (Decimal("65"), Decimal("180"))),
}
CITIES = (
    ("New York", "NY", "100"), ("Brooklyn", "NY", "112"), ("Hoboken", "NJ", "070"),
    ("Stamford", "CT", "069"), ("White Plains", "NY", "106"), ("Jersey City", "NJ", "073"),
)  # fmt: skip
STREETS = ("Maple Avenue", "Hudson Street", "Park Place", "Elm Street", "Riverside Drive", "Court Street")

# Trust: (client name, date, amount, description, reference) of the retainers deposited first.
TRUST_RETAINERS: tuple[tuple[str, date, str, str, str], ...] = (
    ("Samuel Okafor", date(2026, 1, 12), "5000.00", "Retainer deposit", "WIRE 260112-0417"),
    ("Rebecca Lindqvist", date(2026, 1, 20), "3500.00", "Retainer deposit", "CHK 2231"),
    ("Tomás Herrera", date(2026, 2, 3), "7500.00", "Settlement funds received", "WIRE 260203-1180"),
    ("Aisha Rahman", date(2026, 2, 10), "2000.00", "Retainer deposit", "CHK 5120"),
    ("Jonathan Pryce", date(2026, 2, 17), "12000.00", "Escrow deposit for closing", "WIRE 260217-0932"),
    ("Harbor & Pine Realty LLC", date(2026, 2, 24), "15000.00", "Retainer deposit", "ACH 88213"),
    ("Northgate Logistics Inc.", date(2026, 3, 2), "4000.00", "Retainer deposit", "CHK 10442"),
    ("Caldwell Family Trust", date(2026, 3, 9), "6000.00", "Retainer deposit", "WIRE 260309-2210"),
)
# (client name, issued, paid, amount) of the trust requests the clients paid.
TRUST_REQUESTS = (
    ("Aisha Rahman", date(2026, 3, 16), date(2026, 3, 20), "1500.00"),
    ("Northgate Logistics Inc.", date(2026, 4, 6), date(2026, 4, 13), "2500.00"),
)
# (client name, date, amount, description, reference) of money paid out of trust.
TRUST_DISBURSEMENTS = (
    ("Tomás Herrera", date(2026, 3, 5), "4500.00", "Settlement disbursement to client", "CHK 3051"),
    ("Jonathan Pryce", date(2026, 4, 15), "8000.00", "Closing funds to title company", "WIRE 260415-0071"),
    (
        "Samuel Okafor",
        date(2026, 5, 4),
        "350.00",
        f"Pay to: {TRUST_CHEQUE_VENDOR}\nFiling fee",
        "QBO CHECK 1001",
    ),
    ("Caldwell Family Trust", date(2026, 6, 2), "650.00", "Appraisal fee", "CHK 3077"),
    ("Rebecca Lindqvist", date(2026, 6, 12), "1200.00", "Return of unused retainer", "QBO CHECK 1002"),
)
# (from client, to client, date, amount, description): a matter-to-matter transfer.
TRUST_TRANSFER = (
    "Caldwell Family Trust", "Harbor & Pine Realty LLC", date(2026, 5, 18), "750.00",
    "Transfer between matters: shared appraisal costs",
)  # fmt: skip
# Revenue bills paid from trust: the first paid bills of retainer clients issued in this window.
TRUST_BILLS_FROM, TRUST_BILLS_TO, TRUST_BILLS = date(2026, 4, 1), date(2026, 9, 30), 2


@dataclass
class _BillPlan:
    matter: dict[str, Any]
    issued_at: date
    state: str
    number: str = ""
    lines: list[dict[str, Any]] = field(default_factory=list)
    taxable: bool = False
    interest: Decimal = Decimal(0)
    from_trust: bool = False


def seed_clio_demo(emu: ClioEmulator) -> None:
    """Fill a fresh Clio emulator with the demo firm."""
    rng = random.Random(RANDOM_SEED)
    emu.set_account(int(CLIO_ACCOUNT_ID), FIRM_NAME)
    users = [emu.add_user(**values) for values in USERS]
    emu.set_billing_settings(
        tax_name="Sales Tax", tax_rate=SALES_TAX_RATE, use_secondary_tax=False, currency="USD"
    )
    descriptions = {name: emu.add_activity_description(name=name) for name in ACTIVITY_CATEGORIES}
    categories = {name: emu.add_expense_category(name=name) for name in EXPENSE_CATEGORIES}
    clients = _seed_contacts(emu, rng)
    matters = _seed_matters(emu, rng, clients, users)
    names = {client["id"]: client["name"] for client in clients}
    plans = _plan_bills(rng, [(m, names[m["client"]]) for m in matters], users)
    trust = _Trust(emu, {client["name"]: client["id"] for client in clients}, matters)
    trust.deposit_retainers(plans)  # before any bill: two of them are paid from trust
    for plan in plans:
        _create_bill(emu, rng, plan, descriptions, categories)
    _add_credit_notes(emu)
    trust.move_money()


def _add_credit_notes(emu: ClioEmulator) -> None:
    """A courtesy credit of a tenth of the balance on every few unpaid bills (after all bills exist,
    so the random bills above stay what they always were)."""
    unpaid = [b for b in emu.records("bill") if b["state"] == "awaiting_payment" and b["balance"] > 100]
    for bill in unpaid[::CREDIT_NOTE_EVERY]:
        emu.add_credit_memo(
            bill["client"],
            {bill["id"]: (bill["balance"] / 10).quantize(Decimal("0.01"))},
            date=bill["issued_at"] + timedelta(days=10),
            description="Courtesy discount",
        )


# ---------------------------------------------------------------------------------------------
# Contacts and matters


def _address(rng: random.Random, name: str = "Work") -> dict[str, Any]:
    city, state, zip_prefix = rng.choice(CITIES)
    return {
        "name": name,
        "street": f"{rng.randint(10, 980)} {rng.choice(STREETS)}",
        "city": city,
        "province": state,
        "postal_code": f"{zip_prefix}{rng.randint(10, 99)}",
        "country": "United States",
        "primary": True,
    }


def _phone(rng: random.Random) -> dict[str, Any]:
    return {"name": "Work", "number": f"(212) 555-{rng.randint(100, 999):04d}", "primary": True}


def _email_local(text: str) -> str:
    """``text`` as the local part of a plausible email address: ASCII letters, digits and dots."""
    plain = unicodedata.normalize("NFKD", text.lower().translate(str.maketrans("łøß", "los")))
    return "".join(ch for ch in plain if ch.isascii() and (ch.isalnum() or ch == "."))


def _person(emu: ClioEmulator, rng: random.Random, first: str, last: str, *, client: bool) -> dict[str, Any]:
    email: list[dict[str, Any]] = []
    if (first, last) != NO_EMAIL_PERSON:
        address = f"{_email_local(first)}.{_email_local(last)}@example.com"
        if f"{first} {last}" == EXISTING_CUSTOMER_NAME:
            address = EXISTING_CUSTOMER_EMAIL
        email = [{"name": "Work", "address": address, "primary": True}]
    return emu.add_contact(
        type="Person",
        first_name=first,
        last_name=last,
        is_client=client,
        email_addresses=email,
        phone_numbers=[_phone(rng)],
        addresses=[_address(rng, "Home")],
    )


def _company(emu: ClioEmulator, rng: random.Random, name: str, *, client: bool) -> dict[str, Any]:
    domain = _email_local(name.split()[0].replace("\\", "")) or "company"
    return emu.add_contact(
        type="Company",
        name=name,
        is_client=client,
        email_addresses=[{"name": "Work", "address": f"accounts@{domain}.example.com", "primary": True}],
        phone_numbers=[_phone(rng)],
        addresses=[_address(rng, "Billing")],
    )


def _seed_contacts(emu: ClioEmulator, rng: random.Random) -> list[dict[str, Any]]:
    """Every contact of the firm; returns the clients, in the order matters are opened for them."""
    clients = [_person(emu, rng, first, last, client=True) for first, last in PERSON_CLIENTS]
    clients += [_company(emu, rng, name, client=True) for name in COMPANY_CLIENTS]
    for first, last in NEVER_BILLED_PEOPLE:
        _person(emu, rng, first, last, client=False)
    for name in NEVER_BILLED_COMPANIES:
        _company(emu, rng, name, client=False)
    return clients


def _seed_matters(
    emu: ClioEmulator, rng: random.Random, clients: Sequence[dict[str, Any]], users: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    matters = []
    for number, client in enumerate([*clients, *clients[5:12]], start=1):
        label = client["last_name"] if client["type"] == "Person" else client["name"].split()[0]
        matters.append(
            emu.add_matter(
                client=client["id"],
                number=number,
                display_number=f"{number:05d}-{label.replace(chr(92), '')}",
                description=rng.choice(MATTER_SUBJECTS),
                open_date=date(2025, 9, 1) + timedelta(days=rng.randint(0, 120)),
                responsible_attorney=rng.choice(users[:3])["id"],
                originating_attorney=users[0]["id"],
            )
        )
    return matters


# ---------------------------------------------------------------------------------------------
# Bills


def _plan_bills(
    rng: random.Random, matters: Sequence[tuple[dict[str, Any], str]], users: Sequence[dict[str, Any]]
) -> list[_BillPlan]:
    """~165 bills over the matters (with their client's name), numbered in order of issue."""
    special_names = {f"{first} {last}" for first, last in PERSON_CLIENTS[:5]} | set(COMPANY_CLIENTS[:3])
    specials = [matter for matter, client in matters if client in special_names]
    # The special clients' bills are exactly the approved ones planned for them below.
    billed = [matter for matter, client in matters if client not in {*UNBILLED_CLIENTS, *special_names}]
    states = ["draft"] * 8 + ["awaiting_approval"] * 6 + ["void"] * 5 + ["deleted"] * 4
    states += ["awaiting_payment"] * 55 + ["paid"] * 82
    rng.shuffle(states)
    # Two approved bills per special client, then the rest spread over the other matters.
    plans = [
        _BillPlan(m, _issue_date(rng), state) for m in specials for state in ("awaiting_payment", "paid")
    ]
    plans += [_BillPlan(rng.choice(billed), _issue_date(rng), state) for state in states[len(plans) :]]
    plans += [_BillPlan(rng.choice(billed), date(2025, month, 15), "paid") for month in (8, 9, 10, 11)]
    plans.append(_BillPlan(rng.choice(billed), date(2025, 12, 31), "paid"))
    plans.append(_BillPlan(rng.choice(billed), date(2026, 1, 1), "awaiting_payment"))
    for plan in plans:
        plan.lines = [_line_plan(rng, plan, users) for _ in range(rng.randint(1, 8))]
        plan.taxable = rng.random() < 0.25
    _add_special_cases(rng, plans, users)
    plans.sort(key=lambda plan: plan.issued_at)
    for number, plan in enumerate(plans, start=1001):
        plan.number = plan.number or str(number)
    return plans


def _add_special_cases(rng: random.Random, plans: list[_BillPlan], users: Sequence[dict[str, Any]]) -> None:
    approved = [p for p in plans if p.state in ("awaiting_payment", "paid") and p.issued_at.year == 2026]
    unmapped, zero, refund, empty, long_number, *interest = approved[20:28]
    for plan in (unmapped, approved[40]):
        plan.lines.append(_expense(rng, plan, UNMAPPED_EXPENSE_CATEGORY))
    courtesy_call = {"price": Decimal(0), "description": "Courtesy call with client (no charge)"}
    zero.lines.append({**_time(rng, zero, "Client Meeting", users[0]), **courtesy_call})
    refund_credit = {"price": Decimal("-45.00"), "description": "Refund of filing fee"}
    refund.lines.append({**_expense(rng, refund, "Filing Fees"), **refund_credit})
    refund.lines.insert(0, {**_time(rng, refund, "Drafting", users[2]), "quantity": Decimal("2.0")})
    empty.lines = []
    long_number.number = LONG_BILL_NUMBER
    for plan in interest:
        plan.state = "awaiting_payment"
        plan.interest = Decimal(rng.randint(900, 4800)) / 100


def _line_plan(rng: random.Random, plan: _BillPlan, users: Sequence[dict[str, Any]]) -> dict[str, Any]:
    if rng.random() < 0.7:
        return _time(rng, plan, rng.choice(ACTIVITY_CATEGORIES), rng.choice(users))
    mapped = [name for name in EXPENSE_CATEGORIES if name != UNMAPPED_EXPENSE_CATEGORY]
    return _expense(rng, plan, rng.choice(mapped))


def _time(rng: random.Random, plan: _BillPlan, category: str, user: dict[str, Any]) -> dict[str, Any]:
    subject = plan.matter["description"].lower()
    return {
        "kind": "Service",
        "category": category,
        "description": rng.choice(WORK[category]).format(subject),
        "quantity": Decimal(rng.randint(2, 60)) / 10,
        "price": user["rate"],
        "user": user["id"],
        "date": plan.issued_at - timedelta(days=rng.randint(1, 28)),
    }


def _expense(rng: random.Random, plan: _BillPlan, category: str) -> dict[str, Any]:
    text, (low, high) = EXPENSES[category]
    cents = rng.randint(int(low * 100), int(high * 100))
    return {
        "kind": "Expense",
        "category": category,
        "description": text,
        "quantity": Decimal(1),
        "price": Decimal(cents) / 100,
        "user": None,
        "date": plan.issued_at - timedelta(days=rng.randint(1, 28)),
    }


def _issue_date(rng: random.Random) -> date:
    return date(2026, 1, 2) + timedelta(days=rng.randint(0, 321))  # up to 2026-11-20


def _create_bill(
    emu: ClioEmulator,
    rng: random.Random,
    plan: _BillPlan,
    descriptions: dict[str, dict[str, Any]],
    categories: dict[str, dict[str, Any]],
) -> None:
    approved = plan.state in ("awaiting_payment", "paid")
    created = datetime.combine(plan.issued_at, time(10, 0), FIRM_TZ).astimezone(UTC)
    bill = emu.add_bill(
        client=plan.matter["client"],
        matters=[plan.matter["id"]],
        number=plan.number,
        state="awaiting_payment" if approved else plan.state,
        issued_at=plan.issued_at,
        due_at=plan.issued_at + timedelta(days=30),
        tax_rate=SALES_TAX_RATE,
        created_at=created,
        interest={"rate": Decimal("1.5") if plan.interest else Decimal(0), "total": plan.interest},
        subject=plan.matter["description"],
        memo=f"Professional services: {plan.matter['display_number']}",
        user=plan.matter["responsible_attorney"],
    )
    for line in plan.lines:
        if line["kind"] == "Service":
            work = {"type": "TimeEntry", "quantity_in_hours": line["quantity"]}
            work["activity_description"] = descriptions[line["category"]]["id"]
        else:
            work = {"type": "ExpenseEntry", "expense_category": categories[line["category"]]["id"]}
        activity = emu.add_activity(
            **work,
            date=line["date"],
            matter=plan.matter["id"],
            user=line["user"] or plan.matter["responsible_attorney"],
            price=line["price"],
            note=line["description"],
        )
        emu.add_line_item(
            bill=bill["id"],
            activity=activity["id"],
            kind=line["kind"],
            description=line["description"],
            date=line["date"],
            quantity=line["quantity"],
            price=line["price"],
            taxable=plan.taxable and rng.random() < 0.7,
        )
    if plan.state == "paid":
        paid_on = plan.issued_at + timedelta(days=rng.randint(3, 40))
        paid_at = datetime.combine(paid_on, time(15, 0), FIRM_TZ)
        emu.record_payment(bill["id"], paid_at=paid_at, from_trust=plan.from_trust)
    elif plan.state == "awaiting_payment" and rng.random() < 0.2:
        balance = emu.get("bill", bill["id"])["balance"]
        if balance > 1:
            emu.record_payment(bill["id"], amount=(balance / 2).quantize(Decimal("0.01")))


# ---------------------------------------------------------------------------------------------
# Trust


class _Trust:
    """The demo firm's trust account and the client money moved through it (no randomness)."""

    def __init__(
        self, emu: ClioEmulator, client_ids: dict[str, int], matters: Sequence[dict[str, Any]]
    ) -> None:
        self.emu = emu
        self.client_ids = client_ids
        self.matter_of: dict[int, int] = {}
        for matter in sorted(matters, key=lambda m: m["id"], reverse=True):
            self.matter_of[matter["client"]] = matter["id"]  # the client's first matter
        self.account = emu.add_bank_account(
            type="Trust",
            name=CLIO_TRUST_ACCOUNT,
            default_account=True,
            institution="Hudson Valley Community Bank",
            account_number="004417-2291",
            holder=FIRM_NAME,
        )["id"]
        self.corrected: int | None = None

    def _client(self, name: str) -> tuple[int, int]:
        client = self.client_ids[name]
        return client, self.matter_of[client]

    def deposit_retainers(self, plans: Sequence[_BillPlan]) -> None:
        """Each retainer client's deposit, enough for the bill it pays from trust when it pays one."""
        extra = self._bills_from_trust(plans)
        for name, day, amount, description, reference in TRUST_RETAINERS:
            client, matter = self._client(name)
            deposit = self.emu.trust_deposit(
                client,
                Decimal(amount) + extra.get(client, Decimal(0)),
                date=day,
                matter_id=matter,
                description=description,
                reference=reference,
                account_id=self.account,
            )
            if name == TRUST_TRANSFER[1]:
                self.corrected = deposit["id"]

    def _bills_from_trust(self, plans: Sequence[_BillPlan]) -> dict[int, Decimal]:
        """Mark the bills paid from trust; what each of their clients must hold for them."""
        retainers = {self.client_ids[name] for name, *_ in TRUST_RETAINERS}
        needed: dict[int, Decimal] = {}
        for plan in sorted(plans, key=lambda p: (p.issued_at, p.number)):
            client = plan.matter["client"]
            estimate = _most_it_can_total(plan)
            if (
                plan.state == "paid"
                and TRUST_BILLS_FROM <= plan.issued_at <= TRUST_BILLS_TO
                and client in retainers
                and client not in needed
                and estimate >= 200
            ):
                plan.from_trust = True
                needed[client] = estimate
                if len(needed) == TRUST_BILLS:
                    return needed
        raise RuntimeError("the demo plan has too few paid bills of retainer clients to pay from trust")

    def move_money(self) -> None:
        """Trust requests paid, disbursements, the transfer and a corrected deposit (after all bills)."""
        emu = self.emu
        for name, issued, paid, amount in TRUST_REQUESTS:
            request = emu.add_trust_request(self._client(name)[0], Decimal(amount), issued_at=issued)
            emu.pay_trust_request(request["id"], date=paid)
        for name, day, amount, description, reference in TRUST_DISBURSEMENTS:
            client, matter = self._client(name)
            emu.trust_disbursement(
                client,
                Decimal(amount),
                date=day,
                matter_id=matter,
                description=description,
                reference=reference,
                account_id=self.account,
            )
        payer, payee, day, amount, description = TRUST_TRANSFER
        (from_client, from_matter), (to_client, to_matter) = self._client(payer), self._client(payee)
        emu.trust_transfer(
            from_client,
            to_client,
            Decimal(amount),
            from_matter_id=from_matter,
            to_matter_id=to_matter,
            date=day,
            description=description,
            account_id=self.account,
        )
        assert self.corrected is not None
        entered = emu.get("bank_transaction", self.corrected)
        emu.edit_bank_transaction(
            self.corrected,
            amount=entered["amount"] - 500,
            description="Retainer deposit (amount corrected to the bank statement)",
        )


def _most_it_can_total(plan: _BillPlan) -> Decimal:
    """An upper bound of a planned bill's total: every line taxed, rounded up to the hundred."""
    lines = sum((line["quantity"] * line["price"] for line in plan.lines), Decimal(0))
    bound = lines * (1 + SALES_TAX_RATE / 100) + plan.interest + 1
    return (bound / 100).to_integral_value(rounding=ROUND_CEILING) * 100
