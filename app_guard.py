"""Refuse oversized or malformed API payloads before Gradio does any work on them.

A POST of a JSON list of 100,000 file items to /gradio_api/call/predict used to freeze the whole server for over a
minute (Gradio walks every item before the function runs). This ASGI middleware reads the body of every JSON
POST to Gradio's API (uploads excepted: they are multipart, limited by `max_file_size`), at most MAX_BODY bytes of
it, and lets through only a small JSON object whose lists are all short. Anything else gets a 413 or 400 at once.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

MAX_BODY = 256 * 1024  # bytes: a request for 8 files is ~3 KB
MAX_LIST = 256  # items in any JSON list (the UI sends one entry per chosen file; beyond 8 they are only named)
MAX_DEPTH = 8  # nesting of JSON containers
GUARDED = ("/gradio_api/call/", "/gradio_api/run/", "/gradio_api/queue/join", "/gradio_api/api/", "/call/", "/run/")

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


def payload_problem(body: bytes) -> str | None:
    """Why this request body is refused, or None when it is a small JSON object with short lists."""
    if len(body) > MAX_BODY:
        return f"request body over {MAX_BODY // 1024} KB"
    try:
        data = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        return "request body is not JSON"
    if not isinstance(data, dict):
        return "request body must be a JSON object"
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return "request body is nested too deeply"
        if isinstance(value, list):
            if len(value) > MAX_LIST:
                return f"a list in the request has {len(value)} items (at most {MAX_LIST})"
            stack += [(v, depth + 1) for v in value]
        elif isinstance(value, dict):
            stack += [(v, depth + 1) for v in value.values()]
    return None


class PayloadGuard:
    """ASGI middleware: check a guarded POST's body first, then replay it to the app unchanged."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith(GUARDED):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        if declared > MAX_BODY:
            await _refuse(send, 413, f"request body over {MAX_BODY // 1024} KB")
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                await _refuse(send, 413, f"request body over {MAX_BODY // 1024} KB")
                return
        problem = payload_problem(body)
        if problem:
            await _refuse(send, 413 if "over" in problem or "items" in problem else 400, problem)
            return
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send, status: int, reason: str) -> None:
    content = json.dumps({"error": f"Request refused: {reason}."}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]})
    await send({"type": "http.response.body", "body": content})
