"""The QBO query language subset the emulator speaks (reference §1.6), tested without a server."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerlink.providers.qbo.client import QboClient
from ledgerlink.sandbox.qbo_query import (
    INVALID_QUERY,
    PARSE_ERROR,
    Condition,
    Order,
    Query,
    QueryError,
    Value,
    parse,
    run,
)


def where_of(statement: str) -> tuple[Condition, ...]:
    return parse(statement).where


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [row["Id"] for row in rows]


# -- parsing -------------------------------------------------------------------------------------


def test_select_star_names_the_entity_and_takes_the_documented_defaults() -> None:
    assert parse("SELECT * FROM Customer") == Query("Customer", start_position=1, max_results=100)


def test_keywords_are_case_insensitive_and_orderby_has_both_spellings() -> None:
    lower = parse(
        "select * from Invoice where TotalAmt > '300.00' orderby TxnDate desc startposition 2 maxresults 5"
    )
    spaced = parse(
        "SELECT * FROM Invoice WHERE TotalAmt > '300.00' ORDER BY TxnDate DESC STARTPOSITION 2 MAXRESULTS 5"
    )
    assert (
        lower
        == spaced
        == Query(
            "Invoice",
            where=(Condition("TotalAmt", ">", (Value("string", "300.00"),)),),
            order_by=(Order("TxnDate", descending=True),),
            start_position=2,
            max_results=5,
        )
    )


def test_conditions_are_joined_by_and_with_every_operator() -> None:
    conditions = where_of(
        "SELECT * FROM Item WHERE Id >= '1' AND Id <= '9' AND Id < '8' AND Name LIKE 'Le%' "
        "AND Active IN (true, false) AND Type = 'Service'"
    )
    assert [(c.prop, c.op) for c in conditions] == [
        ("Id", ">="),
        ("Id", "<="),
        ("Id", "<"),
        ("Name", "LIKE"),
        ("Active", "IN"),
        ("Type", "="),
    ]
    assert conditions[4].values == (Value("bool", "true"), Value("bool", "false"))


def test_count_star_is_a_count_query() -> None:
    assert parse("SELECT COUNT(*) FROM Vendor").count is True


def test_escaped_apostrophe_and_backslash_unescape_inside_literals() -> None:
    (condition,) = where_of(r"SELECT * FROM Customer WHERE DisplayName = 'Amy\'s \\ Birds'")
    assert condition.values == (Value("string", "Amy's \\ Birds"),)


def test_dotted_properties_parse_as_one_name() -> None:
    (condition,) = where_of(
        "SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime > '2024-01-01T00:00:00-07:00'"
    )
    assert condition.prop == "MetaData.LastUpdatedTime"


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM Customer WHERE DisplayName = 'a' OR DisplayName = 'b'",
        "SELECT * FROM Customer WHERE DisplayName = 'Amy's'",
        "SELECT Id FROM Customer",
        "SELECT * FROM Customer ORDERBY",
        "",
        "DELETE FROM Customer",
    ],
)
def test_syntax_errors_are_4000_error_parsing_query(statement: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(statement)
    assert (caught.value.code, caught.value.message) == (PARSE_ERROR, "Error parsing query")
    assert caught.value.detail.startswith("QueryParserError: ")


def test_a_typographic_apostrophe_is_a_lexical_error_naming_the_character() -> None:
    with pytest.raises(QueryError) as caught:
        parse("SELECT * FROM Item WHERE Name LIKE '%Fleur\u2019t'")
    assert caught.value.code == PARSE_ERROR
    # The same statement the service answered with "line 1, column 43" (reference §1.6 citation).
    assert "Lexical error at line 1, column 43" in caught.value.detail
    assert 'Encountered: "\\u2019" (8217), after : "\'%Fleur"' in caught.value.detail


def test_a_percent_sign_outside_a_string_is_a_lexical_error() -> None:
    with pytest.raises(QueryError) as caught:
        parse("SELECT * FROM Account WHERE AccountSubType = %27Inventory%27")
    assert 'Encountered: "%" (37)' in caught.value.detail


def test_an_unterminated_string_is_a_lexical_error() -> None:
    with pytest.raises(QueryError) as caught:
        parse("SELECT * FROM Customer WHERE DisplayName = 'open")
    assert "Encountered: <EOF>" in caught.value.detail


def test_startposition_zero_is_4001_too_small() -> None:
    with pytest.raises(QueryError) as caught:
        parse("SELECT * FROM Customer STARTPOSITION 0 MAXRESULTS 10")
    assert caught.value.code == INVALID_QUERY
    assert caught.value.detail == "QueryValidationError: value 0 is too small. Min allowed value is 1"


def test_maxresults_over_1000_is_4001_too_large() -> None:
    with pytest.raises(QueryError) as caught:
        parse("SELECT * FROM Customer MAXRESULTS 1001")
    assert (caught.value.code, caught.value.detail) == (
        INVALID_QUERY,
        "QueryValidationError: value 1001 is too large. Max allowed value is 1000",
    )


# -- evaluating ----------------------------------------------------------------------------------

CUSTOMERS: list[dict[str, Any]] = [
    {
        "Id": "10",
        "DisplayName": "Zed",
        "Active": True,
        "Balance": Decimal("5.00"),
        "MetaData": {"LastUpdatedTime": "2024-03-01T10:00:00-07:00"},
        "ParentRef": {"value": "9"},
    },
    {
        "Id": "9",
        "DisplayName": "Amy's Birds",
        "Active": True,
        "Balance": Decimal("300.50"),
        "MetaData": {"LastUpdatedTime": "2024-03-01T16:30:00+00:00"},
    },
    {
        "Id": "2",
        "DisplayName": "Old Client (deleted)",
        "Active": False,
        "Balance": Decimal("0"),
        "MetaData": {"LastUpdatedTime": "2023-01-01T00:00:00-07:00"},
    },
]


def select(statement: str, *, name_list: bool = True) -> list[dict[str, Any]]:
    return run(parse(statement), CUSTOMERS, active_only_by_default=name_list).rows


def test_name_lists_hide_inactive_rows_unless_the_where_clause_mentions_active() -> None:
    assert ids(select("SELECT * FROM Customer")) == ["9", "10"]
    assert ids(select("SELECT * FROM Customer WHERE Active IN (true, false)")) == ["2", "9", "10"]
    assert ids(select("SELECT * FROM Customer WHERE Active = false")) == ["2"]


def test_rows_come_back_in_id_order_compared_as_numbers() -> None:
    assert ids(select("SELECT * FROM Customer WHERE Id > '2'")) == ["9", "10"]


def test_numeric_fields_compare_numerically_even_with_a_quoted_literal() -> None:
    assert ids(select("SELECT * FROM Customer WHERE Balance > '100.00'")) == ["9"]
    assert ids(select("SELECT * FROM Customer WHERE Balance <= 5")) == ["10"]


def test_timestamps_compare_as_instants_across_offsets() -> None:
    # 16:30Z is 09:30-07:00: earlier than Zed's 10:00-07:00.
    rows = select("SELECT * FROM Customer WHERE Metadata.LastUpdatedTime > '2024-03-01T09:45:00-07:00'")
    assert ids(rows) == ["10"]


def test_property_paths_are_case_insensitive_and_references_compare_their_value() -> None:
    assert ids(select("SELECT * FROM Customer WHERE parentref = '9'")) == ["10"]


def test_like_matches_the_whole_value_with_percent_as_the_only_wildcard() -> None:
    assert ids(select("SELECT * FROM Customer WHERE DisplayName LIKE 'Amy%'")) == ["9"]
    assert ids(select("SELECT * FROM Customer WHERE DisplayName LIKE 'Amy'")) == []
    assert ids(select("SELECT * FROM Customer WHERE DisplayName LIKE '_ed'")) == []


def test_string_equality_is_case_sensitive() -> None:
    assert select("SELECT * FROM Customer WHERE DisplayName = 'zed'") == []


def test_a_row_without_the_property_never_matches() -> None:
    assert select("SELECT * FROM Customer WHERE CompanyName = 'Zed'") == []


def test_orderby_descending_then_paging_returns_the_requested_window_and_the_total() -> None:
    statement = (
        "SELECT * FROM Customer WHERE Active IN (true,false) "
        "ORDERBY Balance DESC STARTPOSITION 2 MAXRESULTS 1"
    )
    result = run(parse(statement), CUSTOMERS, active_only_by_default=True)
    assert (ids(result.rows), result.total, result.start_position) == (["10"], 3, 2)


def test_a_property_the_entity_cannot_filter_on_is_4001() -> None:
    with pytest.raises(QueryError) as caught:
        run(
            parse("SELECT * FROM Purchase WHERE AccountRef = '5'"),
            [],
            queryable=lambda prop: prop != "AccountRef",
        )
    assert (caught.value.code, caught.value.detail) == (
        INVALID_QUERY,
        "QueryValidationError: property 'AccountRef' is not queryable",
    )


# -- the client's quoting, through the emulator's parser ---------------------------------------------

names = st.text(
    alphabet=st.characters(blacklist_characters="\u2019", blacklist_categories=("Cs",)), max_size=40
)


@given(names)
def test_any_string_quoted_by_the_client_round_trips_through_the_parser(name: str) -> None:
    query = parse(f"SELECT * FROM Customer WHERE DisplayName = {QboClient.quote(name)} MAXRESULTS 7")
    assert query.where == (Condition("DisplayName", "=", (Value("string", name),)),)
    assert query.max_results == 7  # nothing inside the literal leaked into the statement


@given(names)
def test_a_quoted_name_finds_exactly_the_row_with_that_name(name: str) -> None:
    rows = [
        {"Id": "1", "DisplayName": name, "Active": True},
        {"Id": "2", "DisplayName": name + "x", "Active": True},
    ]
    query = parse(f"SELECT * FROM Customer WHERE DisplayName = {QboClient.quote(name)}")
    assert ids(run(query, rows).rows) == ["1"]
