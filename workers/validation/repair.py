"""Cheap repair before JSON validation: strip code fences, take the outermost JSON object."""

import json
import re
from typing import Any

_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


def strip_fences(text: str) -> str:
    match = _FENCE.match(text)
    return match.group(1) if match else text


def outermost_object(text: str) -> str | None:
    """The first balanced `{...}` in `text`, honouring strings and escapes; None if none."""
    start = text.find("{")
    while start != -1:
        depth, in_string, escaped = 0, False, False
        for index in range(start, len(text)):
            char = text[index]
            if in_string:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    return text[start : index + 1]
        start = text.find("{", start + 1)
    return None


def parse_json_object(text: str) -> tuple[Any, bool]:
    """Parse `text` as JSON, repairing if needed. Returns (value, repaired); raises ValueError."""
    try:
        return json.loads(text), False
    except json.JSONDecodeError:
        pass
    candidate = outermost_object(strip_fences(text))
    if candidate is None:
        raise ValueError("no JSON object found in the output")
    try:
        return json.loads(candidate), True
    except json.JSONDecodeError as exc:
        raise ValueError(f"the outermost object is not valid JSON: {exc.msg}") from exc
