"""Every URL pattern of the project, for tests generated over all of them (CSRF, IDOR).

Patterns come from the root resolver, recursively, with their namespaced name, their
route with the converters' names, and their view; ``fill`` makes a concrete path of a
route from values per parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
# A value each converter accepts, for parameters a test does not care about.
DUMMY = {
    "int": "1",
    "str": "x",
    "slug": "x",
    "path": "x",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


@dataclass(frozen=True)
class Route:
    name: str  # namespaced: "contacts:contact_detail"
    route: str  # "contacts/<int:pk>/"
    view: Callable[..., Any]

    @property
    def parameters(self) -> dict[str, str]:
        """Each parameter's converter, by name."""
        return {
            match["name"]: match["converter"] or "str" for match in PARAMETER.finditer(self.route)
        }

    @property
    def is_regex(self) -> bool:
        return self.route.startswith("^") or "(?P<" in self.route

    def fill(self, values: Mapping[str, object] | None = None) -> str:
        """A path of this route: ``values`` for the parameters named, dummies elsewhere."""
        values = values or {}

        def value(match: re.Match[str]) -> str:
            if match["name"] in values:
                return str(values[match["name"]])
            return DUMMY[match["converter"] or "str"]

        return "/" + PARAMETER.sub(value, self.route)


def routes() -> list[Route]:
    """Every pattern of the root URLconf."""
    return list(_walk(get_resolver(), "", ""))


def _walk(resolver: URLResolver, prefix: str, namespace: str) -> Iterator[Route]:
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from _walk(pattern, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield Route(
                namespace + (pattern.name or ""), prefix + str(pattern.pattern), pattern.callback
            )


def api_operations() -> list[tuple[str, str, dict[str, Any]]]:
    """Every operation of the API's OpenAPI description: method, path template, operation."""
    from rapport.api import api

    schema = api.get_openapi_schema()
    return [
        (method.upper(), path, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    ]


def fill_api_path(path: str, values: Mapping[str, object] | None = None) -> str:
    """``/api/v1/contacts/{contact_id}`` with ``values`` for the parameters named, 1
    elsewhere."""
    values = values or {}
    return re.sub(r"\{(\w+)\}", lambda match: str(values.get(match[1], 1)), path)
