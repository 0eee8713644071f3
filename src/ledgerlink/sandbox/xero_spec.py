"""Xero's own Accounting API description, loaded once, as a judge of request and response bodies.

The spec (``specs/xero_accounting.yaml``, vendored byte-identical from ``XeroAPI/Xero-OpenAPI``)
is what "a body Xero accepts" means for ledgerlink: the sandbox's Xero emulator refuses bodies that
do not fit it, and the client's tests check every body they send with :func:`body_problems`.

Reading the spec:

- It is parsed once per process with libyaml (``yaml.CSafeLoader``). YAML timestamps stay the
  text they were written as (``DateString: 2019-03-11T00:00:00`` is a string in Xero's JSON).
- ``$ref`` s are resolved by validating against a root document that carries the spec's
  ``components``; OpenAPI's extra keywords (``readOnly``, ``x-*``) are ignored, as JSON Schema
  ignores unknown keywords. Formats: only ``uuid`` is checked (``format: double`` on money means
  a JSON number, which ``type`` already checks).
- ``strict=True`` (the default) also names properties the schema does not declare, at any depth:
  the schemas set no ``additionalProperties``, so a misspelt field (``Lineitems``) would otherwise
  "validate" and be silently dropped by the service.
- Two operations declare a bare object body but their own examples (and the SDKs' practice, see
  reference §1 and §2.4) send the plural wrapper: ``POST /Payments`` (``Payment``) and
  ``POST /Payments/{PaymentID}`` (``PaymentDelete``). For those, ``{"Payments": [<one object>]}``
  is accepted too, each element judged by the object schema (:data:`WRAPPER_ALTERNATIVES`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator, FormatChecker

SPEC_PATH = Path(__file__).parent / "specs" / "xero_accounting.yaml"
_HTTP_METHODS = ("get", "put", "post", "delete", "patch")
# Single-object operations whose examples wrap the object: method, path template -> wrapper key.
WRAPPER_ALTERNATIVES: dict[tuple[str, str], str] = {
    ("POST", "/Payments"): "Payments",
    ("POST", "/Payments/{PaymentID}"): "Payments",
}


class _SpecLoader(yaml.CSafeLoader):
    """libyaml's safe loader, except that timestamps stay strings (Xero's JSON has no date type)."""


def _timestamp_as_text(loader: yaml.BaseLoader, node: yaml.Node) -> Any:
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_SpecLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


@cache
def spec() -> dict[str, Any]:
    """The whole spec as plain JSON-like data (parsed on first use, then shared)."""
    with SPEC_PATH.open("rb") as handle:
        loaded: dict[str, Any] = yaml.load(handle, Loader=_SpecLoader)
    return loaded


@dataclass(frozen=True)
class Operation:
    """One spec operation: where it lives and the schema its request body must fit (if any)."""

    method: str
    template: str
    operation_id: str
    body_ref: str | None  # e.g. "#/components/schemas/Invoices"
    body_example: Any
    responses: Mapping[str, Any]


@cache
def operations() -> dict[tuple[str, str], Operation]:
    """Every operation of the spec, keyed by (METHOD, path template)."""
    found: dict[tuple[str, str], Operation] = {}
    for template, item in spec()["paths"].items():
        for method in _HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            content = (op.get("requestBody") or {}).get("content", {}).get("application/json", {})
            ref = (content.get("schema") or {}).get("$ref")
            found[(method.upper(), template)] = Operation(
                method.upper(), template, op["operationId"], ref, content.get("example"), op["responses"]
            )
    return found


def operation(method: str, template: str) -> Operation:
    """The operation at ``method`` + ``template``; KeyError when the spec has none."""
    return operations()[(method.upper(), template)]


def schema(name: str) -> dict[str, Any]:
    """A component schema by name (``Invoice``), unresolved."""
    found: dict[str, Any] = spec()["components"]["schemas"][name]
    return found


@cache
def _validator(ref: str) -> Draft7Validator:
    root = {"components": spec()["components"], "allOf": [{"$ref": ref}]}
    return Draft7Validator(root, format_checker=FormatChecker(formats=("uuid",)))


def schema_problems(ref: str, instance: Any, *, strict: bool = True) -> list[str]:
    """Why ``instance`` does not fit the schema at ``ref`` — empty when it fits.

    Each problem is ``<json path>: <reason>``; strict mode adds undeclared properties.
    """
    problems = [
        f"{_path_text(error.absolute_path)}: {error.message}"
        for error in sorted(_validator(ref).iter_errors(instance), key=lambda e: list(map(str, e.path)))
    ]
    if strict:
        problems += [
            f"{path}: unknown property" for path in _undeclared(_resolve({"$ref": ref}), instance, "")
        ]
    return problems


def body_problems(method: str, template: str, body: Any, *, strict: bool = True) -> list[str]:
    """Why ``body`` is not a request body the spec allows for ``method template`` (empty: it is).

    ``template`` is the spec's path template (``/Invoices/{InvoiceID}``), not a concrete path.
    """
    op = operation(method, template)
    if op.body_ref is None:
        return [] if body is None else ["(body): this operation takes no request body"]
    wrapper = WRAPPER_ALTERNATIVES.get((op.method, op.template))
    if wrapper and isinstance(body, Mapping) and set(body) == {wrapper}:
        items = body[wrapper]
        if not isinstance(items, list) or len(items) != 1:
            return [f"{wrapper}: must hold exactly one object"]
        return [f"{wrapper}[0]{p}" for p in schema_problems(op.body_ref, items[0], strict=strict)]
    return schema_problems(op.body_ref, body, strict=strict)


def response_problems(
    method: str, template: str, status: int, body: Any, *, strict: bool = False
) -> list[str]:
    """Why ``body`` is not what the spec documents for that operation's ``status`` answer."""
    answer = operation(method, template).responses.get(str(status))
    if answer is None:
        return [f"the spec documents no {status} answer for {method} {template}"]
    if "$ref" in answer:
        answer = spec()["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
    ref = answer["content"]["application/json"]["schema"]["$ref"]
    return schema_problems(ref, body, strict=strict)


def match_template(method: str, path: str, templates: list[str] | None = None) -> str | None:
    """The spec path template a concrete path (``/Invoices/1f…``) falls under, or None.

    Literal segments win over parameters (``/Contacts/{ContactID}`` and ``/Contacts/{ContactNumber}``
    share a shape: the first declared wins).
    """
    segments = [s for s in path.split("/") if s]
    best: tuple[int, str] | None = None
    candidates = templates if templates is not None else [t for (m, t) in operations() if m == method.upper()]
    for template in candidates:
        parts = [s for s in template.split("/") if s]
        if len(parts) != len(segments):
            continue
        literal = 0
        for part, seg in zip(parts, segments, strict=True):
            if part.startswith("{"):
                continue
            if part.lower() != seg.lower():
                break
            literal += 1
        else:
            if best is None or literal > best[0]:
                best = (literal, template)
    return best[1] if best else None


def request_examples() -> Iterator[Operation]:
    """Operations whose JSON request body carries an example, in spec order."""
    for op in operations().values():
        if op.body_example is not None:
            yield op


# ---------------------------------------------------------------------------------------------
# Helpers


def _path_text(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(body)"


def _resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow ``$ref`` s (and single-member ``allOf``) to the schema that declares properties."""
    seen = 0
    while "$ref" in node and seen < 20:
        node = _at(node["$ref"])
        seen += 1
    return node


def _at(ref: str) -> Mapping[str, Any]:
    target: Any = spec()
    for part in ref.lstrip("#/").split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    result: Mapping[str, Any] = target
    return result


def _undeclared(node: Mapping[str, Any], instance: Any, path: str) -> Iterator[str]:
    """Paths of properties ``instance`` has but the (resolved) schema ``node`` does not declare."""
    node = _resolve(node)
    if isinstance(instance, Mapping) and "properties" in node:
        declared: Mapping[str, Any] = node["properties"]
        for key, value in instance.items():
            here = f"{path}.{key}" if path else str(key)
            if key not in declared:
                yield here
            else:
                yield from _undeclared(declared[key], value, here)
    elif isinstance(instance, list) and isinstance(node.get("items"), Mapping):
        for index, value in enumerate(instance):
            yield from _undeclared(node["items"], value, f"{path}[{index}]")


__all__ = [
    "SPEC_PATH",
    "WRAPPER_ALTERNATIVES",
    "Operation",
    "body_problems",
    "match_template",
    "operation",
    "operations",
    "request_examples",
    "response_problems",
    "schema",
    "schema_problems",
    "spec",
]
