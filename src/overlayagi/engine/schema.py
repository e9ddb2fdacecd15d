"""JSON-schema output: canonical keys for grammar caches, and parse-and-validate of results."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from overlayagi.engine.errors import OutputSchemaError
from overlayagi.engine.protocols import JsonSchema
from overlayagi.engine.types import Completion


def grammar_cache_key(schema: JsonSchema) -> str:
    """Canonical JSON of a schema (stable across key order)."""
    return json.dumps(schema, sort_keys=True, ensure_ascii=False)


def parse_and_validate(completion: Completion, schema: JsonSchema) -> Any:
    """Decode a schema-constrained completion and check it against ``schema``."""
    excerpt = completion.text[:200] + ("…" if len(completion.text) > 200 else "")
    try:
        value = json.loads(completion.text, strict=False)  # grammars allow raw newlines
    except json.JSONDecodeError as exc:
        hint = (
            "the output was cut off by max_tokens; raise max_tokens"
            if completion.finish_reason == "length"
            else "check that the backend supports JSON-schema output"
        )
        raise OutputSchemaError(
            f"model {completion.model_id} returned text that is not JSON ({exc.msg} at "
            f"char {exc.pos}): {excerpt!r}",
            fix=hint,
        ) from exc
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        path = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise OutputSchemaError(
            f"model {completion.model_id} returned JSON that does not match the schema at "
            f"{path}: {exc.message}",
            fix="constrained decoding should prevent this; report it with the schema",
        ) from exc
    return value
