"""The OpenAPI schema says what every /api route answers, and the interactive docs are served by
the service itself: no CDN, no inline script, every asset from our own origin."""

from __future__ import annotations

import re
from typing import Any

import httpx

from app.main import create_app
from tests.support.server import RunningServer

TYPED_SHARE = 0.95


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _is_typed(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """A body schema that says something: an object with declared properties, or a scalar or
    array type. `{}` or a bare `{"type": "object"}` (what `dict[str, Any]` gives) is untyped."""
    schema = _resolve(schema, components)
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf", []) + schema.get("oneOf", [])
        return all(_is_typed(s, components) for s in options if s.get("type") != "null")
    kind = schema.get("type")
    if kind == "object":
        return bool(schema.get("properties"))
    return kind is not None


def _typed_success(operation: dict[str, Any], components: dict[str, Any]) -> bool:
    successes = {c: r for c, r in operation["responses"].items() if c.startswith("2")}
    if not successes:
        return False
    for code, response in successes.items():
        content = response.get("content")
        if code == "204" and not content:
            continue  # no body, by definition: nothing to type
        if not content or not all(
            _is_typed(media.get("schema", {}), components) for media in content.values()
        ):
            return False
    return True


def _api_operations() -> tuple[list[str], list[str]]:
    schema = create_app().openapi()
    components = schema.get("components", {}).get("schemas", {})
    typed: list[str] = []
    untyped: list[str] = []
    for path, item in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            name = f"{method.upper()} {path}"
            (typed if _typed_success(operation, components) else untyped).append(name)
    return typed, untyped


def test_almost_every_api_operation_has_a_typed_success_response() -> None:
    typed, untyped = _api_operations()
    assert len(typed) + len(untyped) >= 40  # the whole API was seen, not a part of it
    share = len(typed) / (len(typed) + len(untyped))
    assert share >= TYPED_SHARE, f"{share:.0%} typed; untyped: {untyped}"


def test_the_untyped_check_would_notice_a_plain_dict() -> None:
    components: dict[str, Any] = {"Thing": {"type": "object", "properties": {"a": {}}}}
    plain: dict[str, Any] = {
        "responses": {"200": {"content": {"application/json": {"schema": {}}}}}
    }
    loose = {
        "responses": {
            "200": {
                "content": {
                    "application/json": {"schema": {"type": "object", "additionalProperties": True}}
                }
            }
        }
    }
    model = {
        "responses": {
            "200": {
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}
            }
        }
    }
    assert not _typed_success(plain, components)
    assert not _typed_success(loose, components)
    assert _typed_success(model, components)
    assert _typed_success({"responses": {"204": {"description": "gone"}}}, components)


def test_contract_shapes_are_in_the_schema() -> None:
    """The contract's names, read back from the schema: a renamed or dropped field fails here."""
    schema = create_app().openapi()
    components = schema["components"]["schemas"]

    def fields(path: str, method: str = "get", code: str = "200") -> dict[str, Any]:
        response = schema["paths"][f"/api/v1{path}"][method]["responses"][code]
        found = _resolve(response["content"]["application/json"]["schema"], components)
        return {name: _resolve(s, components) for name, s in found["properties"].items()}

    assert set(fields("/sessions/anonymous", "post", "201")) >= {
        "token",
        "participant_id",
        "handle",
    }
    assert set(fields("/auth/login", "post")) >= {"token", "user_id", "role", "handle"}
    queue = fields("/queue")["rooms"]["items"]
    entry = _resolve(queue, components)["properties"]
    assert set(entry) >= {
        "room_id", "kind", "status", "topic", "waiting_since", "assigned_to", "risk", "sentiment",
        "language", "channel",
    }  # fmt: skip
    message = _resolve(fields("/rooms/{room_id}/messages")["messages"]["items"], components)
    assert set(message["properties"]) >= {
        "room_id", "seq", "message_id", "client_msg_id", "sender", "body", "sent_at",
    }  # fmt: skip
    alert = _resolve(fields("/alerts")["alerts"]["items"], components)
    assert set(alert["properties"]) >= {
        "alert_id", "room_id", "severity", "reason", "excerpt", "created_at", "status",
        "acknowledged_by", "evidence",
    }  # fmt: skip
    group = _resolve(fields("/groups")["groups"]["items"], components)
    assert set(group["properties"]) >= {"room_id", "name", "topic", "members", "paused"}
    # Staff-only fields of a room are optional: a participant's view leaves them out.
    room = _resolve(
        schema["paths"]["/api/v1/rooms/{room_id}"]["get"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"],
        components,
    )
    assert {"assigned_to", "risk"} <= set(room["properties"])
    assert not {"assigned_to", "risk"} & set(room.get("required", []))
    insights = fields("/insights")
    assert "from" in insights and "from_" not in insights


async def test_docs_page_and_its_assets_come_from_the_service(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    page = await http.get("/api/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "://" not in html and not re.search(r"""(src|href)=["']//""", html), html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts)
    linked = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert {"/api/docs/assets/swagger-ui.css", "/api/docs/assets/swagger-ui-bundle.js"} <= set(
        linked
    )
    kinds = {".css": "text/css", ".js": "text/javascript", ".png": "image/png"}
    for url in linked:
        asset = await http.get(url)
        assert asset.status_code == 200, url
        expected = next(kind for ext, kind in kinds.items() if url.endswith(ext))
        assert asset.headers["content-type"].startswith(expected), (url, asset.headers)
        assert len(asset.content) > 100 or url.endswith("init.js"), url
    init = (await http.get("/api/docs/init.js")).text
    assert '"/api/v1/openapi.json"' in init and "validatorUrl: null" in init
    bundle = (await http.get("/api/docs/assets/swagger-ui-bundle.js")).text
    assert "SwaggerUIBundle" in bundle
    schema = await http.get("/api/v1/openapi.json")
    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.1")


async def test_only_the_listed_assets_are_served(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    for name in ("swagger-editor-bundle.js", "swagger-ui-bundle.js.map", "..%2Fcore.py", "x"):
        missing = await http.get(f"/api/docs/assets/{name}")
        assert missing.status_code == 404, name
        assert missing.json()["error"]["code"] == "not_found"
