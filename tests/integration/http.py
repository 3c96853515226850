"""Talking to the running platform over HTTP, as a county office's client would."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid

from gateway import auth

os.environ.setdefault("CONSORTIUM_DEV_MODE", "1")


def token(role, hubs=(), member=None, state=None, sub=None, ttl=3600):
    return auth.issue(sub or f"{role}-{uuid.uuid4().hex[:6]}", role, list(hubs), member, state,
                      ttl)


ADMIN = token("admin", ["*"], sub="admin-1")


def documented(method, path, status, headers, payload):
    """Every answer is what the OpenAPI document says: the route's status, and a JSON body
    that the route's response schema loads without an unknown or mistyped field."""
    import marshmallow
    from werkzeug.exceptions import HTTPException

    from gateway.service import ROUTES, URL_MAP
    try:
        index, _ = URL_MAP.bind("localhost").match(urllib.parse.urlsplit(path).path, method)
    except HTTPException:
        return
    route = ROUTES[int(index)]
    assert status == route.status, (method, path, status, route.status)
    if route.response is None or "json" not in headers.get("content-type", ""):
        return
    try:
        if route.paged:
            besides = ({f.data_key or name for name, f in route.page_fields().fields.items()}
                       if route.page_fields else set())
            assert set(payload) == {"items", "next"} | besides, payload.keys()
            route.response(many=True).load(payload["items"])
            if route.page_fields:
                route.page_fields().load({k: payload[k] for k in besides})
        else:
            route.response().load(payload)
    except marshmallow.ValidationError as exc:
        raise AssertionError(f"{method} {path} answered outside its schema "
                             f"{route.response.__name__}: {exc.messages}") from None


class Client:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def request(self, method, path, body=None, token=ADMIN, headers=None, raw=None):
        status, headers, payload = self._request(method, path, body, token, headers, raw)
        if 200 <= status < 300:
            documented(method, path, status, headers, payload)
        return status, headers, payload

    def _request(self, method, path, body, token, headers, raw):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                headers = {k.lower(): v for k, v in response.headers.items()}
                text = response.read()
                return (response.status, headers,
                        json.loads(text) if "json" in headers.get("content-type", "")
                        else text.decode())
        except urllib.error.HTTPError as err:
            text = err.read()
            return (err.code, {k.lower(): v for k, v in err.headers.items()},
                    json.loads(text) if text else None)

    def ok(self, method, path, body=None, token=ADMIN, expect=(200, 201), **kw):
        status, headers, payload = self.request(method, path, body, token, **kw)
        assert status in expect, (method, path, status, payload)
        return payload
