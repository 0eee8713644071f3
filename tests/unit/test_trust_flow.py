"""Trust flow: Clio trust transactions become ledger postings; the guard keeps client balances off zero."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from ledgerlink.domain import TrustAccount, TrustKind, TrustTransaction
from ledgerlink.errors import RecordError
from ledgerlink.sync.flows.trust import (
    CHEQUE_KIND,
    KIND,
    OPENING_DESCRIPTION,
    Cheque,
    TrustSetup,
    TrustWorld,
    cheque_of,
    in_scope,
    plan_trust,
    plan_trust_waves,
    snapshot,
    wanted_clients,
)
from ledgerlink.sync.plan import WRITES, Action, Op
from ledgerlink.sync.ports import TrustChequeDraft, TrustPostingDraft, Written
from tests.factories import FakeLink

START = date(2026, 3, 1)
ACCOUNT = TrustAccount("7", "IOLTA Trust Account", Decimal("0.00"))
SETUP = TrustSetup(
    account=ACCOUNT,
    bank_account="Client Trust Account",
    liability_account="Client Trust Liability",
    start_date=START,
    include_disbursements=True,
    include_trust_payments=True,
    opening_balances=False,
    cheque_marker="QBO CHECK",
)
CONTACTS = {"1": FakeLink("C1"), "2": FakeLink("C2")}
NAMES = {"1": "Dana Whitfield", "2": "Omar Haddad"}


def txn(
    source_id: str = "5012",
    kind: TrustKind = TrustKind.DEPOSIT,
    amount: str = "500.00",
    client: str | None = "1",
    on: date = date(2026, 3, 10),
    **kw: object,
) -> TrustTransaction:
    return TrustTransaction(
        source_id=source_id,
        account_id="7",
        kind=kind,
        date=on,
        amount=Decimal(amount),
        client_id=client,
        client_name=NAMES.get(client or ""),
        matter="00012-Whitfield" if client == "1" else None,
        **kw,  # type: ignore[arg-type]
    )


def world(**changes: object) -> TrustWorld:
    values: dict[str, object] = {"links": {}, "cheque_links": {}, "contact_links": CONTACTS}
    values.update(changes)
    return TrustWorld(**values)  # type: ignore[arg-type]


def plan(*transactions: TrustTransaction, setup: TrustSetup = SETUP, **changes: object) -> list[Action]:
    return plan_trust(setup, list(transactions), world(**changes))


def by_id(actions: list[Action]) -> dict[str, Action]:
    return {a.source_id: a for a in actions}


def synced(
    *transactions: TrustTransaction, setup: TrustSetup = SETUP, version: str = "0", vendors_ok: bool = False
) -> dict[str, FakeLink]:
    """The links a pass that wrote these transactions left (journal entries and cheques alike)."""
    links = {}
    vendors = {"county court": "V5"} if vendors_ok else {}
    for action in plan(*transactions, setup=setup, vendors=vendors):
        assert action.op is Op.CREATE, action
        links[action.source_id] = FakeLink(
            f"J{action.source_id}", action.content_hash or "", version, snapshot(action.payload)
        )
    return links


def error_of(action: Action) -> RecordError:
    assert action.error is not None, action
    return action.error


# -- what is posted --------------------------------------------------------------------------------


def test_deposit_is_a_journal_entry_for_the_client_with_a_searchable_memo() -> None:
    deposit = txn(description="Retainer for the Whitfield estate")
    [action] = plan(deposit)
    assert action.op is Op.CREATE and action.kind == KIND
    assert action.payload == TrustPostingDraft(
        deposit,
        "Client Trust Account",
        "Client Trust Liability",
        "C1",
        "Clio trust deposit 5012 · Dana Whitfield · 00012-Whitfield · Retainer for the Whitfield estate",
    )
    assert action.label == "Trust deposit 5012 (Dana Whitfield, 500.00)"


def test_memo_is_cut_to_what_the_ledger_keeps() -> None:
    [action] = plan(txn(description="x" * 5000))
    assert len(action.payload.memo) == 4000
    assert action.payload.memo.startswith("Clio trust deposit 5012 · Dana Whitfield")


def test_firm_money_without_a_client_is_posted_without_a_customer() -> None:
    interest = txn("5020", amount="3.12", client=None, description="Bank interest")
    [action] = plan(interest)
    assert action.op is Op.CREATE
    assert action.payload.customer_id is None
    assert action.label == "Trust deposit 5020 (no client, 3.12)"


def test_each_kind_of_trust_transaction_is_posted_when_its_toggles_are_on() -> None:
    kinds = list(TrustKind)
    transactions = [txn(str(n), kind, amount="10.00") for n, kind in enumerate(kinds)]
    funded = [txn("funds", amount="1000.00", on=date(2026, 3, 2)), *transactions]
    actions = by_id(plan(*funded))
    assert all(actions[str(n)].op is Op.CREATE for n in range(len(kinds)))


def test_scope_follows_the_start_date_and_the_two_toggles_of_seed_000() -> None:
    off = replace(SETUP, include_disbursements=False, include_trust_payments=False)
    assert not in_scope(SETUP, txn(on=date(2026, 2, 28)))
    assert in_scope(SETUP, txn(on=START))
    assert not in_scope(off, txn(kind=TrustKind.DISBURSEMENT))
    assert not in_scope(off, txn(kind=TrustKind.REQUEST_PAYMENT))
    assert not in_scope(off, txn(kind=TrustKind.BILL_PAYMENT))
    assert in_scope(off, txn(kind=TrustKind.TRANSFER_OUT)) and in_scope(off, txn(kind=TrustKind.TRANSFER_IN))
    assert in_scope(off, txn(kind=TrustKind.DEPOSIT))


def test_out_of_scope_transactions_produce_no_action() -> None:
    off = replace(SETUP, include_disbursements=False)
    early = txn("1", on=date(2026, 2, 1))
    paid = txn("2", TrustKind.DISBURSEMENT, amount="100.00")
    assert plan(early, paid, setup=off) == []


def test_a_linked_transaction_that_fell_out_of_scope_is_skipped_and_stays() -> None:
    paid = txn("2", TrustKind.DISBURSEMENT, amount="100.00")
    deposit = txn("1", on=date(2026, 3, 2))
    links = synced(deposit, paid)
    off = replace(SETUP, include_disbursements=False)
    action = by_id(plan(deposit, paid, setup=off, links=links))["2"]
    assert action.op is Op.SKIP and action.target_id == "J2"
    assert "include_disbursements = false" in action.reason and "stays" in action.reason


def test_zero_amounts_produce_nothing_and_a_linked_one_turned_zero_is_removed() -> None:
    assert plan(txn(amount="0.00")) == []
    links = synced(txn())
    [action] = plan(txn(amount="0.00"), links=links)
    assert action.op is Op.DELETE and action.target_id == "J5012"
    assert action.notice == "amount is 0.00 in Clio; removed from QuickBooks Online"


def test_snapshot_remembers_account_client_signed_amount_kind_and_date() -> None:
    [action, _] = plan(txn("9", TrustKind.DISBURSEMENT, amount="40.00", on=START), txn("8", on=START))
    assert snapshot(action.payload) == {
        "account": "7",
        "client": "1",
        "amount": "-40.00",
        "kind": "disbursement",
        "date": "2026-03-01",
    }


# -- cheques --------------------------------------------------------------------------------------


def test_cheque_marker_is_matched_case_insensitively_ignoring_spaces() -> None:
    assert cheque_of(txn(kind=TrustKind.DISBURSEMENT, reference="  qbo check 1042 "), "QBO CHECK ") == Cheque(
        None
    )
    assert cheque_of(txn(kind=TrustKind.DISBURSEMENT, reference="Wire 77"), "QBO CHECK") is None
    assert cheque_of(txn(kind=TrustKind.DEPOSIT, reference="QBO CHECK"), "QBO CHECK") is None
    assert cheque_of(txn(kind=TrustKind.DISBURSEMENT, reference="QBO CHECK"), "  ") is None


def test_pay_to_on_the_first_line_names_the_vendor() -> None:
    paid = txn(
        kind=TrustKind.DISBURSEMENT, reference="QBO CHECK", description="PAY TO:  County Court \nFiling fee"
    )
    assert cheque_of(paid, "QBO CHECK") == Cheque("County Court")
    later = replace(paid, description="Filing fee\nPay to: County Court")
    assert cheque_of(later, "QBO CHECK") == Cheque(None)


def cheque(**kw: object) -> TrustTransaction:
    values: dict[str, object] = {"kind": TrustKind.DISBURSEMENT, "amount": "200.00", "reference": "QBO CHECK"}
    values.update(kw)
    return txn("6001", **values)  # type: ignore[arg-type]


FUNDS = txn("5000", amount="1000.00", on=date(2026, 3, 2))


def test_cheque_without_pay_to_is_made_out_to_the_client() -> None:
    paid = cheque(description="Settlement refund")
    action = by_id(plan(FUNDS, paid))["6001"]
    assert action.op is Op.CREATE and action.kind == CHEQUE_KIND
    assert action.payload == TrustChequeDraft(
        paid,
        "Client Trust Account",
        "Client Trust Liability",
        "C1",
        "C1",
        "Customer",
        "Clio trust disbursement 6001 · Dana Whitfield · 00012-Whitfield · QBO CHECK · Settlement refund",
    )
    assert action.label == "Trust cheque 6001 (Dana Whitfield, 200.00)"


def test_cheque_with_pay_to_is_made_out_to_the_vendor_of_that_name() -> None:
    paid = cheque(description="Pay to: county court\nFiling fee")
    action = by_id(plan(FUNDS, paid, vendors={"county court": "V5"}))["6001"]
    assert (action.payload.payee_id, action.payload.payee_type, action.payload.customer_id) == (
        "V5",
        "Vendor",
        "C1",
    )


def test_cheque_to_an_unknown_vendor_fails_naming_it() -> None:
    action = by_id(plan(FUNDS, cheque(description="Pay to: County Court"), vendors={}))["6001"]
    assert action.op is Op.FAIL and action.kind == CHEQUE_KIND
    error = error_of(action)
    assert error.cause == "unknown_payee"
    assert "“County Court”" in error.message
    assert "Create the vendor in QuickBooks Online with exactly the name “County Court”" in error.remedy
    assert "“Pay to:”" in error.remedy


def test_cheque_without_client_or_payee_fails() -> None:
    action = by_id(plan(FUNDS, cheque(client=None)))["6001"]
    assert action.op is Op.FAIL and error_of(action).cause == "no_payee"
    assert "cheque has no payee" in error_of(action).message


def test_a_posting_never_switches_between_journal_entry_and_cheque() -> None:
    plain = cheque(reference="Wire 1")
    links = synced(FUNDS, plain)
    action = by_id(plan(FUNDS, cheque(), links=links))["6001"]
    assert action.op is Op.FAIL and action.kind == KIND and action.target_id == "J6001"
    error = error_of(action)
    assert error.cause == "cheque_changed" and not error.retryable
    assert "Delete the transaction in Clio and enter it again" in error.remedy


# -- the client ------------------------------------------------------------------------------------


def test_transaction_of_a_client_not_in_the_ledger_waits_for_it() -> None:
    [action] = plan(txn(client="3"))
    assert action.op is Op.BLOCKED
    error = error_of(action)
    assert error.blocked_by == "contact 3"
    assert "waiting for the client" in error.message.lower() and "QuickBooks Online" in error.message


def test_transaction_of_a_client_that_failed_this_pass_is_blocked_naming_it() -> None:
    [action] = plan(txn(client="3"), failed_contacts={"3": "Contact Lee Park"})
    assert action.op is Op.BLOCKED
    assert error_of(action).message == "Waiting for Contact Lee Park, which could not be synced."


def test_wanted_clients_are_those_with_postings_in_scope_and_openings() -> None:
    transactions = [txn("1", client="1"), txn("2", client="2", on=date(2026, 2, 1)), txn("3", client=None)]
    assert wanted_clients(SETUP, transactions) == {"1"}
    assert wanted_clients(replace(SETUP, opening_balances=True), transactions) == {"1", "2"}


# -- linked postings -------------------------------------------------------------------------------


def test_unchanged_posting_is_skipped() -> None:
    links = synced(txn())
    [action] = plan(txn(), links=links)
    assert action.op is Op.SKIP and action.target_id == "J5012"


def test_amount_changed_in_clio_updates_the_posting_saying_before_and_after() -> None:
    links = synced(txn())
    [action] = plan(txn(amount="450.00"), links=links)
    assert action.op is Op.UPDATE and action.target_id == "J5012"
    assert action.notice == "amount changed in Clio: 500.00 → 450.00"


def test_date_changed_in_clio_is_said_too() -> None:
    links = synced(txn())
    [action] = plan(txn(on=date(2026, 3, 5)), links=links)
    assert action.op is Op.UPDATE and action.notice == "date changed in Clio: 2026-03-10 → 2026-03-05"


def test_posting_edited_in_the_ledger_is_restored_to_clios_version() -> None:
    links = synced(txn(), version="0")
    [action] = plan(txn(), links=links, versions={KIND: {"J5012": "4"}})
    assert action.op is Op.UPDATE and action.notice is not None and "overwritten" in action.notice


def test_posting_deleted_in_the_ledger_is_posted_again() -> None:
    links = synced(txn())
    [action] = plan(txn(), links=links, versions={KIND: {"J5012": None}})
    assert action.op is Op.CREATE and action.notice is not None and "re-created" in action.notice


def test_what_an_interrupted_pass_posted_is_adopted_not_doubled() -> None:
    [action] = plan(txn(), landed={"5012": Written("J77", "0")})
    assert action.op is Op.LINK and action.target_id == "J77" and action.payload is not None


def test_transaction_deleted_in_clio_is_removed_from_the_ledger() -> None:
    links = synced(txn("1"), txn("2", on=date(2026, 3, 11)))
    [kept, removed] = plan(txn("1"), links=links)
    assert kept.op is Op.SKIP
    assert removed.op is Op.DELETE and removed.target_id == "J2"
    assert removed.notice == "deleted in Clio; removed from QuickBooks Online"


def test_postings_of_another_trust_account_are_left_alone() -> None:
    other = FakeLink("J9", "h", "0", {"account": "8", "client": "1", "amount": "5.00", "kind": "deposit"})
    assert plan(txn(), links={"9": other})[0].op is Op.CREATE
    assert len(plan(txn(), links={"9": other})) == 1


# -- opening balances ------------------------------------------------------------------------------

OPENING_SETUP = replace(SETUP, opening_balances=True)
HISTORY = [
    txn("1", amount="700.00", on=date(2026, 1, 5)),
    txn("2", TrustKind.DISBURSEMENT, amount="200.00", on=date(2026, 2, 1)),
    txn("3", client="2", amount="50.00", on=date(2026, 2, 3)),
    txn("4", client="2", kind=TrustKind.TRANSFER_OUT, amount="50.00", on=date(2026, 2, 4)),
]


def test_opening_balance_is_each_clients_pre_start_balance_as_one_posting() -> None:
    [action] = plan(*HISTORY, setup=OPENING_SETUP)
    assert action.op is Op.CREATE and action.source_id == "opening:7:1"
    posted = action.payload.transaction
    assert (posted.kind, posted.amount, posted.date) == (
        TrustKind.DEPOSIT,
        Decimal("500.00"),
        date(2026, 2, 28),
    )
    assert posted.description == OPENING_DESCRIPTION and posted.client_id == "1"
    assert action.label == "Opening trust balance (Dana Whitfield, 500.00)"


def test_negative_opening_balance_is_a_disbursement_and_guarded_like_any_posting() -> None:
    # The start date moved later: the deposit of January is posted on its own, the rest is the opening.
    posted = txn("1", amount="100.00", on=date(2026, 1, 5))
    links = synced(posted, setup=replace(OPENING_SETUP, start_date=date(2026, 1, 1)))
    history = [posted, txn("2", TrustKind.DISBURSEMENT, amount="30.00", on=date(2026, 1, 20))]
    actions = by_id(plan(*history, setup=OPENING_SETUP, links=links))
    opening = actions["opening:7:1"]
    assert opening.op is Op.CREATE
    assert opening.payload.transaction.kind is TrustKind.DISBURSEMENT
    assert opening.payload.transaction.amount == Decimal("30.00")
    # Alone, a negative opening would put the client below zero in the ledger: refused, said why.
    [refused] = plan(history[1], setup=OPENING_SETUP)
    assert refused.op is Op.FAIL and error_of(refused).cause == "trust_negative_balance"
    assert refused.label == "Opening trust balance (Dana Whitfield, −30.00)"


def test_back_dated_entry_updates_the_opening_balance() -> None:
    links = synced(*HISTORY, setup=OPENING_SETUP)
    later = [*HISTORY, txn("5", amount="25.00", on=date(2026, 2, 10))]
    [action] = plan(*later, setup=OPENING_SETUP, links=links)
    assert action.op is Op.UPDATE and action.source_id == "opening:7:1"
    assert action.notice == "amount changed in Clio: 500.00 → 525.00"


def test_opening_balance_gone_to_zero_is_removed_and_kept_when_openings_are_off() -> None:
    links = synced(*HISTORY, setup=OPENING_SETUP)
    settled = [*HISTORY, txn("5", TrustKind.DISBURSEMENT, amount="500.00", on=date(2026, 2, 10))]
    [gone] = plan(*settled, setup=OPENING_SETUP, links=links)
    assert gone.op is Op.DELETE and gone.source_id == "opening:7:1"
    [kept] = plan(*HISTORY, setup=SETUP, links=links)
    assert kept.op is Op.SKIP and "opening_balances = false" in kept.reason


def test_pre_start_transactions_already_posted_are_not_counted_in_the_opening_again() -> None:
    links = synced(txn("1", amount="700.00", on=START))
    moved = replace(OPENING_SETUP, start_date=date(2026, 4, 1))
    actions = by_id(plan(txn("1", amount="700.00", on=START), txn("2", amount="10.00", on=date(2026, 3, 9)),
                         setup=moved, links=links))  # fmt: skip
    assert actions["1"].op is Op.SKIP and "stays" in actions["1"].reason
    assert actions["opening:7:1"].payload.transaction.amount == Decimal("10.00")


# -- the guard -------------------------------------------------------------------------------------


def test_disbursement_dated_before_the_deposit_that_funds_it_is_refused() -> None:
    deposit = txn("1", amount="500.00", on=date(2026, 3, 10))
    paid = txn("2", TrustKind.DISBURSEMENT, amount="200.00", on=date(2026, 3, 5))
    actions = by_id(plan(paid, deposit))
    assert actions["1"].op is Op.CREATE
    refused = actions["2"]
    assert refused.op is Op.FAIL and refused.kind == KIND
    error = error_of(refused)
    assert error.cause == "trust_negative_balance" and error.retryable
    assert error.message == (
        "Not posted: it would leave Dana Whitfield's trust balance in QuickBooks Online at −200.00."
    )
    assert "Check the dates and amounts of Dana Whitfield's trust transactions in Clio" in error.remedy


def test_the_refusal_names_the_earlier_transactions_not_posted() -> None:
    deposit = txn("1", amount="500.00", on=date(2026, 3, 2))
    to_court = cheque(amount="300.00", on=date(2026, 3, 5), description="Pay to: County Court")
    links = synced(deposit)
    cheques = {"6001": synced(deposit, to_court, vendors_ok=True)["6001"]}
    refund = replace(
        to_court, amount=Decimal("200.00")
    )  # lowered in Clio; the vendor is gone from the ledger
    paid = txn("2", TrustKind.DISBURSEMENT, amount="300.00", on=date(2026, 3, 20))
    actions = by_id(plan(deposit, refund, paid, links=links, cheque_links=cheques, vendors={}))
    assert actions["6001"].op is Op.FAIL and error_of(actions["6001"]).cause == "unknown_payee"
    error = error_of(actions["2"])
    assert error.cause == "trust_negative_balance"
    assert "at −100.00" in error.message
    assert (
        "Earlier transactions of Dana Whitfield not in QuickBooks Online yet: Trust cheque 6001"
        in error.message
    )
    assert "Fix those first" in error.remedy
    fixed = by_id(
        plan(deposit, refund, paid, links=links, cheque_links=cheques, vendors={"county court": "V5"})
    )
    assert (fixed["6001"].op, fixed["2"].op) == (Op.UPDATE, Op.CREATE)


def test_a_blocked_client_has_nothing_posted_so_nothing_to_guard() -> None:
    deposit = txn("1", client="3", on=date(2026, 3, 2))
    paid = txn("2", TrustKind.DISBURSEMENT, amount="200.00", client="3")
    assert [a.op for a in plan(deposit, paid)] == [Op.BLOCKED, Op.BLOCKED]
    assert [a.op for a in plan(deposit, paid, contact_links={"3": FakeLink("C3")})] == [Op.CREATE, Op.CREATE]


def test_pre_start_balance_counts_as_in_the_books_when_openings_are_off() -> None:
    paid = txn("2", TrustKind.DISBURSEMENT, amount="300.00")
    early = txn("1", amount="300.00", on=date(2026, 1, 2))
    assert by_id(plan(early, paid))["2"].op is Op.CREATE
    refused = by_id(plan(replace(early, amount=Decimal("299.99")), paid))["2"]
    assert refused.op is Op.FAIL and "at −0.01" in error_of(refused).message
    assert "Check the dates and amounts" in error_of(refused).remedy


def test_kinds_left_to_the_bank_feed_count_for_the_balance() -> None:
    off = replace(SETUP, include_trust_payments=False)
    paid_in = txn("1", TrustKind.REQUEST_PAYMENT, amount="400.00", on=date(2026, 3, 2))
    paid = txn("2", TrustKind.DISBURSEMENT, amount="300.00")
    assert [a.op for a in plan(paid_in, paid, setup=off)] == [Op.CREATE]


def test_a_day_counts_as_a_whole() -> None:
    paid = txn("2", TrustKind.DISBURSEMENT, amount="300.00")
    same_day = txn("3", amount="300.00")
    assert [a.op for a in plan(paid, same_day)] == [Op.CREATE, Op.CREATE]


def test_an_update_lowering_a_deposit_below_what_was_paid_out_is_refused() -> None:
    deposit = txn("1", amount="500.00", on=date(2026, 3, 2))
    paid = txn("2", TrustKind.DISBURSEMENT, amount="400.00")
    links = synced(deposit, paid)
    actions = by_id(plan(replace(deposit, amount=Decimal("300.00")), paid, links=links))
    refused = actions["1"]
    assert refused.op is Op.FAIL and refused.target_id == "J1"
    assert "Not updated" in error_of(refused).message and "at −100.00" in error_of(refused).message
    assert actions["2"].op is Op.SKIP
    # Lowering it to what was paid out is fine.
    ok = by_id(plan(replace(deposit, amount=Decimal("400.00")), paid, links=links))["1"]
    assert ok.op is Op.UPDATE


def test_removing_a_deposit_that_funds_a_posted_disbursement_is_refused() -> None:
    deposit = txn("1", amount="500.00", on=date(2026, 3, 2))
    paid = txn("2", TrustKind.DISBURSEMENT, amount="400.00")
    links = synced(deposit, paid)
    refused = by_id(plan(paid, links=links))["1"]
    assert refused.op is Op.FAIL and "Not removed" in error_of(refused).message


def test_firm_money_is_not_guarded() -> None:
    charge = txn("1", TrustKind.DISBURSEMENT, amount="15.00", client=None, description="Bank charge")
    assert [a.op for a in plan(charge)] == [Op.CREATE]


def test_plan_writes_nothing_once_everything_is_posted() -> None:
    history = [*HISTORY, txn("5", on=START), txn("6", TrustKind.DISBURSEMENT, amount="100.00", on=START)]
    links = synced(*history, setup=OPENING_SETUP)
    assert not [a for a in plan(*history, setup=OPENING_SETUP, links=links) if a.op in WRITES]


def test_the_firms_own_money_before_the_start_gets_an_opening_entry_too() -> None:
    interest = txn("9", amount="4.50", client=None, on=date(2026, 2, 27))
    actions = by_id(plan(*HISTORY, interest, setup=OPENING_SETUP))
    firm = actions["opening:7:firm"]
    assert firm.op is Op.CREATE and firm.payload.customer_id is None
    assert firm.payload.transaction.amount == Decimal("4.50")
    assert firm.label == "Opening trust balance (no client, 4.50)"


# -- two waves: a write that fails never leaves a client overdrawn ----------------------------------


def test_money_out_waits_for_the_second_wave_and_is_refused_when_its_deposit_failed() -> None:
    links = synced(txn("1", amount="1000.00", on=date(2026, 3, 2)))
    deposit = txn("2", amount="500.00", on=date(2026, 3, 5))
    paid = txn("3", TrustKind.DISBURSEMENT, amount="1300.00", on=date(2026, 3, 6))
    history = [txn("1", amount="1000.00", on=date(2026, 3, 2)), deposit, paid]
    first, later = plan_trust_waves(SETUP, history, world(links=links))
    assert [(a.source_id, a.op) for a in first] == [("1", Op.SKIP), ("2", Op.CREATE)]
    assert [(a.source_id, a.op) for a in later] == [("3", Op.CREATE)]
    # The deposit's write failed: planned again, the disbursement is refused and the deposit not re-planned.
    again = plan(*history, links=links, unwritten={"2": first[1].label})
    assert [a.source_id for a in again] == ["1", "3"]
    error = error_of(again[1])
    assert error.cause == "trust_negative_balance" and "at −300.00" in error.message
    assert "Trust deposit 2 (Dana Whitfield, 500.00)" in error.message
