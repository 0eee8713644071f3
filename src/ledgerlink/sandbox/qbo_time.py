"""The QBO emulator's TimeActivity: time worked by an employee (or vendor) for a customer (§2.14).

TimeActivity is what payroll and billable-time features of QBO read; ledgerlink writes Clio's
approved time entries there. It is served like any transaction (create, sparse/full update with
SyncToken, delete, read, query) but is outside change data capture (§3.2), so a reader finds
changes by querying ``MetaData.LastUpdatedTime``.

Assumptions (the reference lists the fields, §2.14 and §2.3; where it is silent the stricter
reading is taken, with fault codes as the other entities use them):

- ``NameOf`` is required (2020) and one of Employee, Vendor (2170). With Employee, ``EmployeeRef``
  is required (2020) and must name an existing (2500 "Names element id N not found") active (610)
  employee; with Vendor, ``VendorRef`` likewise names a vendor. The reference of the other kind
  is refused (2010): a TimeActivity has one payee.
- ``ItemRef`` is required on create (the XSD note §2.14 cites) and must name an active item (610
  when unknown or inactive, as on invoices) of ``Type`` Service (6000 otherwise: time is a
  service). ``CustomerRef``, when sent, names an existing (2500) active (610) customer.
- Duration: ``Hours`` and ``Minutes`` are whole numbers ≥ 0 (2010), ``Minutes`` below 60 (6000),
  and together above zero (6000). ``StartTime``/``EndTime``/``BreakHours``/``BreakMinutes`` are not
  modelled by the sandbox (500), so a duration is always Hours/Minutes.
- ``HourlyRate`` and ``CostRate`` are numbers ≥ 0 with at most two decimal places (2010/6000).
- ``BillableStatus`` is Billable, NotBillable or HasBeenBilled (2170), default NotBillable;
  Billable needs a ``CustomerRef`` (6000), as on Purchase lines.
- ``Description`` ≤ 4000 (2050); ``TxnDate`` defaults to the company's today; a date on or
  before ``BookCloseDate`` is 6210. Class, department and payroll item lists are not served
  (2500 for any ``ClassRef``, ``DepartmentRef``, ``PayrollItemRef``).
- Rendered references carry the record's ``name`` (DisplayName, item Name) like other entities.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledgerlink.sandbox.qbo_entities import (
    CENT,
    Books,
    EntityType,
    as_amount,
    check_books_open,
    check_date,
    check_length,
    reference_id,
    resolve_active,
    resolve_reference,
)
from ledgerlink.sandbox.qbo_schema import (
    TIME_ACTIVITY_SHAPE,
    business_validation,
    invalid_enumeration,
    invalid_reference,
    required_parameter,
    unsupported_operation,
    unsupported_property,
)

NAME_OF = {"Employee": "EmployeeRef", "Vendor": "VendorRef"}
BILLABLE_STATUSES = ("Billable", "NotBillable", "HasBeenBilled")
_UNMODELLED = ("StartTime", "EndTime", "BreakHours", "BreakMinutes")
_UNSERVED = {"ClassRef": "Class", "DepartmentRef": "Department", "PayrollItemRef": "PayrollItem"}


@dataclass(frozen=True)
class TimeActivityType(EntityType):
    """Hours an employee or vendor worked, optionally for a customer, on a service item."""

    id_family: str = "txn"
    deletable: bool = True
    change_data_capture: bool = False

    def complete(
        self,
        books: Books,
        record: dict[str, Any],
        *,
        record_id: str | None,
        previous: Mapping[str, Any] | None,
    ) -> None:
        txn_date = check_date(record, "TxnDate") or books.today()
        record["TxnDate"] = txn_date.isoformat()
        check_books_open(books, txn_date)
        check_length(record, "Description", 4000)
        for name, label in _UNSERVED.items():
            ref_id = reference_id(record, name)
            if ref_id is not None:
                raise invalid_reference(label, ref_id, name)
        for name in _UNMODELLED:
            if record.get(name) is not None:
                raise unsupported_operation(f"{name} on TimeActivity in the sandbox")
        self._payee(books, record)
        self._item(books, record)
        customer_id = reference_id(record, "CustomerRef")
        if customer_id is not None:
            customer = resolve_reference(books, "Customer", customer_id, label="Names", element="CustomerRef")
            record["CustomerRef"] = {"value": customer_id, "name": customer["DisplayName"]}
        else:
            record.pop("CustomerRef", None)
        _duration(record)
        for name in ("HourlyRate", "CostRate"):
            if record.get(name) is not None:
                record[name] = _rate(record[name], name)
        status = record.setdefault("BillableStatus", "NotBillable")
        if status not in BILLABLE_STATUSES:
            raise invalid_enumeration("BillableStatus", status)
        if status == "Billable" and customer_id is None:
            raise business_validation("A billable time activity needs a customer.")
        if not isinstance(record.setdefault("Taxable", False), bool):
            raise unsupported_property("Taxable must be true or false")

    @staticmethod
    def _payee(books: Books, record: dict[str, Any]) -> None:
        name_of = record.get("NameOf")
        if name_of in (None, ""):
            raise required_parameter("NameOf")
        if name_of not in NAME_OF:
            raise invalid_enumeration("NameOf", name_of)
        wanted = NAME_OF[name_of]
        other = NAME_OF["Vendor" if name_of == "Employee" else "Employee"]
        if record.get(other) is not None:
            raise unsupported_property(f"{other} with NameOf {name_of}")
        ref_id = reference_id(record, wanted)
        if ref_id is None:
            raise required_parameter(wanted)
        payee = resolve_reference(books, name_of, ref_id, label="Names", element=wanted)
        record[wanted] = {"value": ref_id, "name": payee["DisplayName"]}

    @staticmethod
    def _item(books: Books, record: dict[str, Any]) -> None:
        item_id = reference_id(record, "ItemRef")
        if item_id is None:
            raise required_parameter("ItemRef")
        item = resolve_active(books, "Item", item_id)
        if item.get("Type") != "Service":
            raise business_validation(f"Item {item['Name']} is not a service; time can only be a service.")
        record["ItemRef"] = {"value": item_id, "name": item["Name"]}


def _duration(record: dict[str, Any]) -> None:
    """Hours and Minutes: whole, not negative, minutes under an hour, and some time at all."""
    total = 0
    for name, per_unit in (("Hours", 60), ("Minutes", 1)):
        value = record.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
            raise unsupported_property(f"{name} must be a whole number")
        if Decimal(str(value)) != Decimal(str(value)).to_integral_value():
            raise unsupported_property(f"{name} must be a whole number, not {value}")
        whole = int(value)
        if whole < 0:
            raise business_validation(f"{name} cannot be negative.")
        record[name] = whole
        total += whole * per_unit
    if int(record.get("Minutes", 0)) >= 60:
        raise business_validation("Minutes must be less than 60.")
    if total == 0:
        raise business_validation("Enter the hours and minutes worked.")


def _rate(value: Any, name: str) -> Decimal:
    rate = as_amount(value, name)
    if rate != rate.quantize(CENT):
        raise unsupported_property(f"{name} {value} (at most two decimal places)")
    if rate < 0:
        raise business_validation(f"{name} cannot be negative.")
    return rate.quantize(CENT)


TIME_ACTIVITY = TimeActivityType("TimeActivity", TIME_ACTIVITY_SHAPE)
