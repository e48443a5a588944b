"""The OpenAPI document's shape (paths, operation ids, parameters, schemas, examples) against the
checked-in snapshot `openapi_shape.json`: moving code between modules must not change the API.
Descriptions are left out, so rewording the manual needs no new snapshot; a deliberate change
of the API does (write it again, then read the diff):
    UPDATE_OPENAPI_SHAPE=1 .venv/bin/python -m pytest tests/api/test_openapi_shape.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from api.main import create_app
from core.settings import Settings

SNAPSHOT = Path(__file__).with_name("openapi_shape.json")


def shape(node: Any, *, names: bool = False) -> Any:
    """The document without its `description` texts. Under `properties` (and the other
    name-keyed maps) the keys are field names, so a field called `description` stays."""
    if isinstance(node, dict):
        return {
            k: shape(v, names=k in ("properties", "paths", "schemas", "responses", "content"))
            for k, v in node.items()
            if names or not (k == "description" and isinstance(v, str))
        }
    if isinstance(node, list):
        return [shape(v) for v in node]
    return node


def test_the_openapi_document_has_the_snapshot_s_shape():
    current = shape(create_app(Settings(demo=True)).openapi())
    if os.environ.get("UPDATE_OPENAPI_SHAPE"):
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    assert sorted(current["paths"]) == sorted(expected["paths"])
    ops = {
        (path, method): op.get("operationId")
        for path, item in current["paths"].items()
        for method, op in item.items()
    }
    assert ops == {
        (path, method): op.get("operationId")
        for path, item in expected["paths"].items()
        for method, op in item.items()
    }
    assert sorted(current["components"]["schemas"]) == sorted(expected["components"]["schemas"])
    assert current == expected
