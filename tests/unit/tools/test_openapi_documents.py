"""Every service's OpenAPI document is valid for a standard validator (every `$ref` resolves
from the root, as code generators and Swagger UI need) and declares the bearer API key."""

from __future__ import annotations

from typing import Any

import pytest
from entitle_cli import registry
from openapi_spec_validator import validate

from services.runtime.http import create_app

DOCUMENTS = {
    name: create_app(registry.described(name)).openapi() for name in registry.SERVICE_NAMES
}


@pytest.mark.parametrize("name", registry.SERVICE_NAMES)
def test_the_document_is_valid_and_every_ref_resolves(name: str) -> None:
    document = DOCUMENTS[name]
    validate(document)
    schemas = document["components"]["schemas"]
    for ref in _refs(document):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


@pytest.mark.parametrize("name", registry.SERVICE_NAMES)
def test_authenticated_operations_declare_the_api_key_and_public_ones_do_not(name: str) -> None:
    document = DOCUMENTS[name]
    if name != "ingress":  # ingress's one route is authenticated by its signature
        scheme = document["components"]["securitySchemes"]["apiKey"]
        assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            secured = operation.get("security") == [{"apiKey": []}]
            documents_401 = "401" in operation["responses"]
            public = path in {"/healthz", "/readyz", "/metrics", "/asyncapi.json"}
            assert not (public and secured), f"{method} {path}"
            if secured:
                assert documents_401, f"{method} {path} is secured but documents no 401"


def test_the_order_webhook_body_refers_to_components() -> None:
    operation = DOCUMENTS["ingress"]["paths"]["/webhooks/orders"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    refs = set(_refs(body))
    assert "#/components/schemas/OrderLine" in refs
    assert "#/components/schemas/Party" in refs


def test_licensing_reads_need_the_key() -> None:
    operation = DOCUMENTS["licensing"]["paths"]["/licenses"]["get"]
    assert operation["security"] == [{"apiKey": []}]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []
