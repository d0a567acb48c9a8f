"""JSON Schema validation of a manifest, worded as one line per problem."""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import math
from typing import TYPE_CHECKING, Any

from cinestitch import __version__
from cinestitch.errors import Problem
from cinestitch.manifest.document import KeyPath, YamlDocument, format_key_path
from cinestitch.resources import SCHEMA_PATH

if TYPE_CHECKING:
    import jsonschema
    from jsonschema.exceptions import ValidationError

SHOWN_CHARS = 60
"""A value longer than this is shown cut short (a message stays one readable line)."""
_TYPE_WORDS = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
}


def _is_finite_number(checker: Any, value: Any) -> bool:
    """JSON has no NaN or infinity, YAML does (``.nan``, ``.inf``): they are not numbers here,
    or ``budget: {build: .nan}`` would pass every ``minimum`` and switch the guard off."""
    del checker
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


def _is_finite_integer(checker: Any, value: Any) -> bool:
    return _is_finite_number(checker, value) and (isinstance(value, int) or value.is_integer())


@functools.cache
def manifest_validator() -> jsonschema.protocols.Validator:
    """The schema's validator, built once per process (jsonschema is imported only when a
    manifest must be validated: see ``validity_key``)."""
    import jsonschema
    from jsonschema import validators

    finite = validators.extend(  # type: ignore[no-untyped-call]
        jsonschema.Draft202012Validator,
        type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many(
            {"number": _is_finite_number, "integer": _is_finite_integer}
        ),
    )
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return finite(schema)  # type: ignore[no-any-return]


def validity_key(manifest: bytes) -> str:
    """What a manifest that passed the schema is remembered by: its bytes, the schema's and
    cinestitch's version. An unchanged manifest is not validated again (a no-op build then
    never loads jsonschema)."""
    digest = hashlib.sha256(__version__.encode())
    digest.update(SCHEMA_PATH.read_bytes())
    digest.update(b"\0")
    digest.update(manifest)
    return digest.hexdigest()


def shown_value(value: Any) -> str:
    """A value as a message shows it: JSON-like, accents as themselves (``"café"``, not
    ``"caf\\u00e9"``), YAML's ``.nan``/``.inf`` by their YAML names."""
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else ("-.inf" if value < 0 else ".inf")
    if isinstance(value, dict | list):
        return "a mapping" if isinstance(value, dict) else "a list"
    shown = json.dumps(value, ensure_ascii=False, default=str)
    return shown if len(shown) <= SHOWN_CHARS else f"{shown[: SHOWN_CHARS - 2]}…{shown[-1]}"


def check_manifest_schema(doc: YamlDocument, file: str, known_valid: bool = False) -> list[Problem]:
    """Every schema violation in ``doc.data``, each at the line of the offending key
    (none when ``known_valid``: these very bytes passed before)."""
    if known_valid:
        return []
    problems: list[Problem] = []
    errors = manifest_validator().iter_errors(doc.data)
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        problems.extend(_describe(error, doc, file))
    return problems


def _schema_of(error: ValidationError) -> dict[str, Any]:
    """The (sub)schema that failed; our schema never uses boolean subschemas."""
    return error.schema if isinstance(error.schema, dict) else {}


def _describe(error: ValidationError, doc: YamlDocument, file: str) -> list[Problem]:
    path: KeyPath = tuple(error.absolute_path)
    if error.validator == "anyOf" and error.context:
        return _describe_union(error, doc, file)
    if error.validator == "additionalProperties":
        allowed = sorted(_schema_of(error).get("properties", {}))
        instance = error.instance if isinstance(error.instance, dict) else {}
        unknown = [k for k in instance if k not in allowed]
        return [
            Problem(
                file,
                doc.line_of((*path, k)),
                format_key_path((*path, k)),
                f"unknown key{_suggest(str(k), allowed)}",
            )
            for k in unknown
        ]
    where = format_key_path(path) or "(top level)"
    return [Problem(file, doc.line_of(path), where, _message(error))]


def _describe_union(error: ValidationError, doc: YamlDocument, file: str) -> list[Problem]:
    """A value with several shapes (``speed: 0.5`` or ``{rate: 0.5, …}``): what is wrong in
    the shape it has, or which shapes it may have."""
    fitting = [e for e in error.context or () if e.validator != "type"]
    if fitting:
        deepest = max(len(e.absolute_path) for e in fitting)
        return _describe(next(e for e in fitting if len(e.absolute_path) == deepest), doc, file)
    kinds = [
        _TYPE_WORDS.get(str(e.schema.get("type")), str(e.schema.get("type")))
        for e in error.context or ()
        if isinstance(e.schema, dict)
    ]
    path: KeyPath = tuple(error.absolute_path)
    expected = " or ".join(dict.fromkeys(kinds))
    message = f"expected {expected}, got {shown_value(error.instance)}"
    return [Problem(file, doc.line_of(path), format_key_path(path), message)]


def _message(error: ValidationError) -> str:
    v, value, schema = error.validator, error.instance, _schema_of(error)
    shown = shown_value(value)
    if v == "type":
        expected = schema["type"]
        if isinstance(value, float) and not math.isfinite(value):
            return f"{shown} is not a finite number — write a number such as 1 or 0.5"
        return f"expected {_TYPE_WORDS.get(expected, expected)}, got {shown}"
    if v == "enum":
        return f"{shown} is not one of {', '.join(map(str, schema['enum']))}"
    if v == "const":
        return f"must be {json.dumps(schema['const'])}, got {shown}"
    if v == "required":
        return str(error.message).replace("is a required property", "is required")
    if v == "pattern":
        return f"{shown} {_pattern_hint(schema)}"
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {
            "minimum": "below the minimum of",
            "exclusiveMinimum": "must be above",
            "maximum": "above the maximum of",
            "exclusiveMaximum": "must be below",
        }
        return f"{shown} is {words[v]} {schema[v]}".replace("is must", "must")
    if v in ("minItems", "minLength"):
        return "must not be empty"
    return str(error.message)


def _pattern_hint(schema: dict[str, Any]) -> str:
    pattern = schema["pattern"]
    if pattern.startswith("^[a-z0-9]"):
        return "is not a valid id — use lower case letters, digits, - and _"
    if "x" in pattern and "[1-9]" in pattern:
        return "is not a size — write WIDTHxHEIGHT, e.g. 1280x720"
    if pattern.endswith("\\.j2$"):
        return "is not a template name — templates end in .j2"
    if pattern.endswith("\\.mp4$"):
        return "must end in .mp4"
    return f"does not match {pattern}"


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(options)}"
    return f" — {hint}"
