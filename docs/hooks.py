"""MkDocs hooks: the pages that have one source in the code are written from it at build time.
The configuration reference comes from the settings model (type, default, docstring), the HTTP
API reference from the API's own OpenAPI document, which the site also serves whole."""

import functools
import json
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files
from pydantic.fields import FieldInfo

from genroute.settings import Settings

SETTINGS_MARKER = "<!-- settings-table -->"
OPENAPI_MARKER = "<!-- openapi-operations -->"
METHODS = ("get", "post", "put", "patch", "delete")


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if SETTINGS_MARKER in markdown:
        markdown = markdown.replace(SETTINGS_MARKER, settings_table())
    if OPENAPI_MARKER in markdown:
        markdown = markdown.replace(OPENAPI_MARKER, operations(openapi_document()))
    return markdown


def on_files(files: Files, config: Any, **_: Any) -> Files:
    """The whole OpenAPI document, as a file of the site the reference links to."""
    document = json.dumps(openapi_document(), indent=2)
    files.append(File.generated(config, "reference/openapi.json", content=document))
    return files


def settings_table() -> str:
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        meaning = " ".join((field.description or "").split())
        rows.append(f"| `GENROUTE_{name.upper()}` | {_shown_default(field)} | {meaning} |")
    return "\n".join(rows)


def _shown_default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        shipped = field.default_factory()  # type: ignore[call-arg]
        return f"`{shipped.parent.name}/{shipped.name}` (shipped)"
    value = field.default
    if value == "":
        return "empty"
    if isinstance(value, Path):
        return f"`{str(value).replace(str(Path.home()), '~')}`"
    return f"`{value}`"


@functools.cache
def openapi_document() -> dict[str, Any]:
    from genroute.api.app import create_app  # the API builds its document without any server

    return create_app(Settings()).openapi()


def operations(document: dict[str, Any]) -> str:
    """Each operation as a section: method and path, summary, description, parameters and
    the status codes it answers, grouped by tag in the document's order."""
    by_tag: dict[str, list[str]] = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                tag = (operation.get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append(_operation(method, path, operation))
    return "\n\n".join(f"## {tag}\n\n" + "\n\n".join(sections) for tag, sections in by_tag.items())


def _operation(method: str, path: str, operation: dict[str, Any]) -> str:
    lines = [f"### `{method.upper()} {path}`", "", operation.get("summary", "")]
    if operation.get("description"):
        lines += ["", operation["description"]]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["", "| parameter | in | required | description |", "| --- | --- | --- | --- |"]
        for parameter in parameters:
            about = " ".join(parameter.get("description", "").split())
            required = "yes" if parameter.get("required") else "no"
            lines.append(f"| `{parameter['name']}` | {parameter['in']} | {required} | {about} |")
    codes = ", ".join(f"`{code}`" for code in operation.get("responses", {}))
    lines += ["", f"Answers: {codes}."]
    return "\n".join(lines)
