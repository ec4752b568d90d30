"""The OpenAPI document as served: the filters list the sections and documents the served
index holds, so that a client (or a fuzzer) reading the schema knows which values exist;
any other value is answered 422 naming it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from rsa_qa.service import Service

# Past this many values a filter's list is left out of the schema (it would outweigh the rest).
MAX_LISTED = 500


def install_openapi(app: FastAPI, service: Service) -> None:
    generated: Callable[[], dict[str, Any]] = app.openapi
    cached: dict[str, dict[str, Any]] = {}

    def openapi() -> dict[str, Any]:
        schema = generated()
        searcher = service.searcher
        if searcher is None:
            return schema
        version = searcher.index.version
        if version not in cached:
            cached.clear()
            cached[version] = with_filter_values(schema, *searcher.filter_values())
        return cached[version]

    app.openapi = openapi  # type: ignore[method-assign]


def with_filter_values(schema: dict[str, Any], sections: list[str], docs: list[str]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    values = {"sections": sections, "docs": docs}
    request = schema["components"]["schemas"]["QueryRequest"]["properties"]
    for name, listed in values.items():
        _list_values(request[name], listed)
    for parameter in schema["paths"]["/query"]["get"]["parameters"]:
        if parameter["name"] in values:
            _list_values(parameter["schema"], values[parameter["name"]])
    return schema


def _list_values(field: dict[str, Any], values: list[str]) -> None:
    if not values or len(values) > MAX_LISTED:
        return
    for option in field.get("anyOf", [field]):
        if option.get("type") == "array":
            option["items"] = {**option["items"], "enum": values}
