"""Refuse oversized or malformed API payloads, and events that are not the caller's to run, before Gradio does any
work on them.

A POST of a JSON list of 100,000 file items to /gradio_api/call/predict would freeze the whole server for over a
minute (Gradio walks every item before the function runs). This ASGI middleware reads the body of every JSON
POST to Gradio's API (uploads excepted: they are multipart, limited by `max_file_size`), at most MAX_BODY bytes of
it, and lets through only a small JSON object whose lists are all short. Anything else gets a 413 or 400 at once.

Gradio answers a raw `POST /gradio_api/run/<name>` (or `queue/join` with an `fn_index`) for every event with a
function, whatever its `api_visibility`: `/classify` ran 8 images a call, `on_load` and `preview_upload` answered
too. `EventPolicy` lets anyone run the public API (`/predict`) and the page's own events only in a session that
opened the page (ran its load event), by index as the page sends them, never by name.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

MAX_BODY = 256 * 1024  # bytes: a request for 8 files is ~3 KB
MAX_LIST = 256  # items in any JSON list (the UI sends one entry per chosen file; beyond 8 they are only named)
MAX_DEPTH = 8  # nesting of JSON containers
GUARDED = ("/gradio_api/call/", "/gradio_api/run/", "/gradio_api/queue/join", "/gradio_api/api/", "/call/", "/run/")
MAX_PAGE_SESSIONS = 100_000  # page sessions remembered (~10 MB), the least recently used forgotten first

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


@dataclass
class EventPolicy:
    """Which of the app's events a request may run (see the module docstring). Built from the Blocks at launch."""

    public: set[int]  # fn ids anyone may run: the documented API
    page: set[int]  # fn ids of the page's own events
    opening: set[int]  # the page's load events: running one opens a page session
    names: dict[str, int]  # api_name -> fn id
    sessions: OrderedDict[str, None] = field(default_factory=OrderedDict)  # page sessions, least recently used first

    @classmethod
    def of(cls, demo) -> EventPolicy:
        """From a gr.Blocks: its public events, and every other event that has a server function."""
        fns = [fn for fn in demo.fns.values() if fn.fn is not None]
        public = {fn._id for fn in fns if fn.api_visibility == "public"}
        opening = {fn._id for fn in fns if any(event == "load" for _, event in fn.targets)}
        return cls(public, {fn._id for fn in fns} - public, opening, {fn.api_name: fn._id for fn in fns if fn.api_name})

    def refusal(self, path: str, body: dict) -> tuple[int, str] | None:
        """(HTTP status, why) this request may not run its event, or None. Unknown events are left to Gradio to refuse."""
        route = path.removeprefix("/gradio_api").strip("/").split("/")
        by_name = route[0] in ("run", "api", "call") and len(route) > 1
        index = body.get("fn_index") if route[0] in ("run", "api", "queue") else None  # /call/<name> goes by name only
        if index is not None and type(index) is not int:  # Gradio would read "3" or 3.0 as 3
            return 400, "fn_index must be a whole number"
        if index is None:
            if not by_name:
                return None
            index = self.names.get(route[-1])
            if index in self.page:
                return 404, f"{route[-1]} is not an API endpoint (the API is {', '.join(self._public_names())})"
        if index not in self.page:
            return None
        session = body.get("session_hash")
        if not isinstance(session, str) or not session:
            return 403, "the page's events run only in a page's session"
        if index in self.opening:
            self.sessions[session] = None
            while len(self.sessions) > MAX_PAGE_SESSIONS:
                self.sessions.popitem(last=False)
        if session not in self.sessions:
            return 403, "the page's events run only in a session that opened the page"
        self.sessions.move_to_end(session)  # in use: forgotten last
        return None

    def _public_names(self) -> list[str]:
        return sorted("/" + name for name, index in self.names.items() if index in self.public)


class PayloadGuard:
    """ASGI middleware: check a guarded POST's body (and, given an EventPolicy, its event) first, then replay it to the
    app unchanged."""

    def __init__(self, app: Callable, events: EventPolicy | None = None) -> None:
        self.app = app
        self.events = events

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
        refusal = self.events and self.events.refusal(scope["path"], json.loads(body or b"{}"))
        if refusal:
            await _refuse(send, *refusal)
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
