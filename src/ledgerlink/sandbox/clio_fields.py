"""Clio's ``fields=`` selection language, and the catalogue of fields each emulated resource has.

Pure: no HTTP and no store. The Clio emulator parses a request's ``fields`` parameter against a
:class:`Schema` into a :class:`Selection`, then renders stored records through it.

The rules, from the reference (clio.md §1.2, "D-fields"):

- no ``fields`` → only ``id`` and ``etag``;
- a comma list of names; any unknown name → 400 whose message says "<name> is not a valid field";
- ``rel{a,b}`` selects fields of a nested resource, one level deep; ``rel`` without braces gives
  that resource's default fields;
- inside braces, a relation of the nested resource may be named (it comes back with its default
  fields) but braces at that second level → 400.

Scalar field names are those of the ``*_base`` schemas of the official OpenAPI spec (S1); the
relations are those of the full schemas. Relations (and a few scalars, such as a bank
transaction's undocumented ``type`` and ``source``) the sandbox keeps no data for are listed as
``unmodelled``: asking for them is a 400 that says the sandbox does not emulate them, never a
silent null, so a client never passes here because the emulator was lenient.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class FieldsError(ValueError):
    """The ``fields`` parameter cannot be served; ``str()`` is the message Clio's 400 carries."""


@dataclass(frozen=True)
class Nested:
    """A relation of a resource: another stored record (``ref`` = its kind) or an embedded value."""

    schema: str
    many: bool = False
    ref: str | None = None


@dataclass(frozen=True)
class Schema:
    name: str
    scalars: frozenset[str]
    defaults: tuple[str, ...]
    nested: Mapping[str, Nested] = field(default_factory=dict)
    unmodelled: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Selection:
    """What to render of one record: scalar names and, per relation, a selection of its own."""

    scalars: tuple[str, ...]
    nested: tuple[tuple[str, Selection], ...] = ()


ID_AND_ETAG = Selection(("id", "etag"))


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# The *_base scalar fields of S1, per schema. "currency" is modelled as a relation where it is one.
SCHEMAS: dict[str, Schema] = {
    "contact": Schema(
        "Contact",
        _names(
            "id etag name first_name middle_name last_name date_of_birth type created_at updated_at prefix"
            " title initials clio_connect_email locked_clio_connect_email client_connect_user_id"
            " primary_email_address secondary_email_address primary_phone_number secondary_phone_number"
            " ledes_client_id has_clio_for_clients_permission is_client is_clio_for_client_user"
            " is_co_counsel is_bill_recipient sales_tax_number"
        ),
        ("id", "etag", "name"),
        {
            "addresses": Nested("address", many=True),
            "email_addresses": Nested("email_address", many=True),
            "phone_numbers": Nested("phone_number", many=True),
            "custom_field_values": Nested("custom_field_value", many=True),
            "company": Nested("contact", ref="contact"),
            "currency": Nested("currency"),
        },
        _names(
            "activity_rates custom_field_set_associations instant_messengers web_sites notification_methods"
            " account_balances related_contacts kyc_field_values primary_work_address primary_address"
            " secondary_address avatar payment_profile folder co_counsel_rate primary_web_site"
            " legal_aid_uk_contact"
        ),
    ),
    "address": Schema(
        "Address",
        _names("id etag street city province postal_code country name created_at updated_at primary"),
        ("id", "etag", "name", "street", "city", "province", "postal_code", "country", "primary"),
    ),
    "email_address": Schema(
        "EmailAddress",
        _names("id etag address name primary created_at updated_at"),
        ("id", "etag", "address", "name", "primary"),
    ),
    "phone_number": Schema(
        "PhoneNumber",
        _names("id etag number name primary created_at updated_at"),
        ("id", "etag", "number", "name", "primary"),
    ),
    "custom_field_value": Schema(
        "CustomFieldValue",
        _names(
            "id etag field_name created_at updated_at field_type field_required field_displayed"
            " field_display_order value soft_deleted"
        ),
        ("id", "etag", "field_name", "value"),
        {"custom_field": Nested("custom_field")},
        _names("picklist_option matter contact"),
    ),
    "custom_field": Schema(
        "CustomField",
        _names(
            "id etag created_at updated_at name parent_type field_type displayed deleted required"
            " display_order"
        ),
        ("id", "etag", "name", "field_type"),
        unmodelled=_names("picklist_options"),
    ),
    "currency": Schema(
        "Currency",
        _names("id etag code sign created_at updated_at"),
        ("id", "etag", "code", "sign"),
    ),
    "account": Schema(
        "Account",
        _names("id etag name state created_at updated_at"),
        ("id", "etag", "name"),
        {"owner": Nested("user", ref="user")},
    ),
    "user": Schema(
        "User",
        _names(
            "account_owner clio_connect court_rules_default_attendee created_at default_calendar_id email"
            " enabled etag first_name id initials last_name name phone_number rate roles subscription_type"
            " time_zone updated_at"
        ),
        ("id", "etag", "name"),
        {
            "account": Nested("account", ref="account"),
            "default_activity_description": Nested("activity_description", ref="activity_description"),
        },
        _names("notification_methods avatar contact job_title groups"),
    ),
    "matter": Schema(
        "Matter",
        _names(
            "id etag number display_number custom_number description status location client_reference"
            " client_id billable maildrop_address billing_method open_date close_date pending_date"
            " created_at updated_at shared has_tasks last_activity_date matter_stage_updated_at"
        ),
        ("id", "etag", "display_number"),
        {
            "client": Nested("contact", ref="contact"),
            "responsible_attorney": Nested("user", ref="user"),
            "originating_attorney": Nested("user", ref="user"),
            "responsible_staff": Nested("user", ref="user"),
            "user": Nested("user", ref="user"),
            "practice_area": Nested("practice_area"),
            "currency": Nested("currency"),
        },
        _names(
            "contingency_fee custom_rate evergreen_retainer folder group matter_budget matter_stage"
            " statute_of_limitations legal_aid_uk_matter attorney_allocation account_balances"
            " custom_field_values custom_field_set_associations matter_bill_recipients relationships"
            " task_template_list_instances kyc_field_values split_invoice_payers"
        ),
    ),
    "practice_area": Schema(
        "PracticeArea",
        _names("id etag created_at updated_at name category code"),
        ("id", "etag", "name"),
    ),
    "bill": Schema(
        "Bill",
        _names(
            "id etag number issued_at created_at due_at tax_rate secondary_tax_rate updated_at subject"
            " purchase_order type memo start_at end_at balance state kind total paid paid_at pending due"
            " discount_services_only can_update credits_issued shared last_sent_at services_secondary_tax"
            " services_sub_total services_tax services_taxable_sub_total"
            " services_secondary_taxable_sub_total taxable_sub_total secondary_taxable_sub_total sub_total"
            " tax_sum secondary_tax_sum total_tax available_state_transitions"
        ),
        ("id", "etag", "number"),
        {
            "user": Nested("user", ref="user"),
            "client": Nested("contact", ref="contact"),
            "matters": Nested("matter", many=True, ref="matter"),
            "discount": Nested("discount"),
            "interest": Nested("interest"),
            "currency": Nested("currency"),
        },
        _names(
            "group bill_theme original_bill destination_account balances matter_totals billing_setting"
            " client_addresses legal_aid_uk_bill split_invoice"
        ),
    ),
    "discount": Schema(
        "Discount",
        _names("rate type note early_payment_rate early_payment_period"),
        ("rate", "type", "note"),
    ),
    "interest": Schema(
        "Interest",
        _names("balance period rate total type"),
        ("rate", "type", "period", "balance", "total"),
    ),
    "line_item": Schema(
        "LineItem",
        _names(
            "id etag type description date price taxable kind note secondary_taxable total tax"
            " secondary_tax sub_total quantity group_ordering created_at updated_at"
        ),
        ("id", "etag", "description"),
        {
            "bill": Nested("bill", ref="bill"),
            "activity": Nested("activity", ref="activity"),
            "matter": Nested("matter", ref="matter"),
            "user": Nested("user", ref="user"),
            "discount": Nested("discount"),
        },
        _names("included_line_item_totals"),
    ),
    "activity": Schema(
        "Activity",
        _names(
            "id etag type date quantity_in_hours rounded_quantity_in_hours quantity rounded_quantity"
            " quantity_redacted price note flat_rate billed on_bill total contingency_fee created_at"
            " updated_at reference non_billable non_billable_total no_charge tax_setting"
        ),
        ("id", "etag", "type"),
        {
            "activity_description": Nested("activity_description", ref="activity_description"),
            "expense_category": Nested("expense_category", ref="expense_category"),
            "bill": Nested("bill", ref="bill"),
            "matter": Nested("matter", ref="matter"),
            "user": Nested("user", ref="user"),
            "vendor": Nested("contact", ref="contact"),
            "currency": Nested("currency"),
        },
        _names(
            "communication client_portal matter_note contact_note subject timer utbms_expense"
            " calendar_entry task text_message_conversation document_version legal_aid_uk_activity"
        ),
    ),
    "activity_description": Schema(
        "ActivityDescription",
        _names(
            "id etag name visible_to_co_counsel created_at updated_at default type utbms_activity_id"
            " utbms_task_name utbms_task_id xero_service_code accessible_to_user category_type"
        ),
        ("id", "etag", "name"),
        {"currency": Nested("currency")},
        _names("groups rate utbms_task utbms_activity"),
    ),
    "expense_category": Schema(
        "ExpenseCategory",
        _names(
            "id etag name rate entry_type created_at updated_at xero_expense_code accessible_to_user"
            " tax_setting"
        ),
        ("id", "etag", "name"),
        {"currency": Nested("currency")},
        _names("groups utbms_code"),
    ),
    "billing_setting": Schema(
        "BillingSetting",
        _names(
            "id etag rounded_duration rounding use_decimal_rounding currency currency_sign tax_rate tax_name"
            " apply_tax_by_default apply_secondary_tax_by_default"
            " time_on_flat_rate_contingency_matters_is_non_billable use_secondary_tax secondary_tax_rate"
            " secondary_tax_rule secondary_tax_name notify_after_bill_created use_utbms_codes created_at"
            " updated_at multi_currency_billing billing_currencies"
        ),
        ("id", "etag"),
    ),
    "allocation": Schema(
        "Allocation",
        _names(
            "id etag date amount interest voided_at created_at updated_at description has_online_payment"
            " destroyable payment_type"
        ),
        ("id", "etag", "date", "amount"),
        {
            "bill": Nested("bill", ref="bill"),
            "contact": Nested("contact", ref="contact"),
            "matter": Nested("matter", ref="matter"),
            "source_bank_account": Nested("bank_account", ref="bank_account"),
            "destination_bank_account": Nested("bank_account", ref="bank_account"),
            "parent": Nested("polymorphic_object"),
        },
    ),
    "polymorphic_object": Schema(
        "PolymorphicObject",
        _names("id type"),
        ("id", "type"),
        unmodelled=_names("identifier secondary_identifier tertiary_identifier"),
    ),
    "credit_memo": Schema(
        "CreditMemo",
        _names("id etag date amount description discount voided_at created_at updated_at"),
        ("id", "etag", "date", "amount"),
        {
            "user": Nested("user", ref="user"),
            "contact": Nested("contact", ref="contact"),
            "allocations": Nested("allocation", many=True, ref="allocation"),
        },
    ),
    "bank_account": Schema(
        "BankAccount",
        _names(
            "id etag name type currency currency_symbol currency_id default_account account_number"
            " transit_number swift institution domicile_branch holder general_ledger_number"
            " controlled_account clio_payments_enabled created_at updated_at balance bank_transactions_count"
        ),
        ("id", "etag", "name", "type"),
        unmodelled=_names("clio_payment_page_link clio_payment_page_qr_code user"),
    ),
    "bank_transaction": Schema(
        "BankTransaction",
        _names(
            "id etag created_at updated_at bank_account_id confirmation date amount currency currency_id"
            " description exchange_rate transaction_type funds_in funds_out clio_payments_transaction"
            " current_account_balance read_only_confirmation"
        ),
        ("id", "etag", "date", "amount"),
        {
            "bank_account": Nested("bank_account", ref="bank_account"),
            "client": Nested("contact", ref="contact"),
            "matter": Nested("matter", ref="matter"),
            "bill": Nested("bill", ref="bill"),
            "allocation": Nested("allocation", ref="allocation"),
        },
        # Values Clio does not document and ledgerlink does not read: refused, never invented.
        _names("type source"),
    ),
}


# ---------------------------------------------------------------------------------------------
# Parsing


@dataclass(frozen=True)
class _Node:
    name: str
    children: tuple[_Node, ...] | None  # None: no braces


def _parse_nodes(text: str) -> tuple[_Node, ...]:
    """The ``fields`` text as a tree of names; raises FieldsError on bad syntax or deep braces."""
    pos = 0

    def parse_list(depth: int) -> tuple[_Node, ...]:
        nonlocal pos
        nodes: list[_Node] = []
        while True:
            start = pos
            while pos < len(text) and text[pos] not in ",{}":
                pos += 1
            name = text[start:pos]
            if not name:
                raise FieldsError(f"Invalid fields parameter: empty field name at position {start}")
            children: tuple[_Node, ...] | None = None
            if pos < len(text) and text[pos] == "{":
                if depth >= 1:
                    raise FieldsError(
                        f"{name} cannot be nested: fields of a second-level nested resource cannot be"
                        " selected, it returns its default fields"
                    )
                pos += 1
                children = parse_list(depth + 1)
                if pos >= len(text) or text[pos] != "}":
                    raise FieldsError(f"Invalid fields parameter: missing '}}' after {name}{{")
                pos += 1
            nodes.append(_Node(name, children))
            if pos >= len(text) or text[pos] == "}":
                return tuple(nodes)
            if text[pos] == "{":
                raise FieldsError(f"Invalid fields parameter: unexpected '{{' at position {pos}")
            pos += 1  # the comma

    nodes = parse_list(0)
    if pos != len(text):
        raise FieldsError(f"Invalid fields parameter: unexpected '}}' at position {pos}")
    return nodes


def default_selection(schema: Schema) -> Selection:
    return Selection(schema.defaults)


def _resolve(nodes: tuple[_Node, ...], schema: Schema) -> Selection:
    scalars: list[str] = []
    nested: list[tuple[str, Selection]] = []
    for node in nodes:
        if node.name in schema.nested:
            target = SCHEMAS[schema.nested[node.name].schema]
            sub = default_selection(target) if node.children is None else _resolve(node.children, target)
            if all(existing != node.name for existing, _ in nested):
                nested.append((node.name, sub))
        elif node.name in schema.scalars:
            if node.children is not None:
                raise FieldsError(f"{node.name} is not a nested resource of {schema.name}")
            if node.name not in scalars:
                scalars.append(node.name)
        elif node.name in schema.unmodelled:
            raise FieldsError(
                f"{node.name} is a field of {schema.name} that the ledgerlink sandbox does not emulate"
            )
        else:
            raise FieldsError(f"{node.name} is not a valid field for {schema.name}")
    return Selection(tuple(scalars), tuple(nested))


def parse_fields(text: str | None, schema: Schema) -> Selection:
    """The selection a request's ``fields`` parameter asks for (id and etag when absent)."""
    if text is None or text == "":
        return ID_AND_ETAG
    return _resolve(_parse_nodes(text), schema)


# ---------------------------------------------------------------------------------------------
# Rendering

Lookup = Callable[[str, int], Mapping[str, Any] | None]


def render(record: Mapping[str, Any], schema: Schema, selection: Selection, lookup: Lookup) -> dict[str, Any]:
    """The JSON object for ``record``: selected scalars, then relations resolved through ``lookup``."""
    out: dict[str, Any] = {name: record.get(name) for name in selection.scalars}
    for name, sub in selection.nested:
        relation = schema.nested[name]
        target = SCHEMAS[relation.schema]
        value = record.get(name)

        def one(item: Any, relation: Nested = relation, target: Schema = target, sub: Selection = sub) -> Any:
            if item is None:
                return None
            resolved = lookup(relation.ref, item) if relation.ref else item
            return None if resolved is None else render(resolved, target, sub, lookup)

        if relation.many:
            out[name] = [rendered for item in value or () if (rendered := one(item)) is not None]
        else:
            out[name] = one(value)
    return out
