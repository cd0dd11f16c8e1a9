"""Open a page session for a gradio_client Client, as a browser does when it opens the page.

The page's own events (`/classify`, the examples) answer only in a session that opened the page (ran its load
event): app_guard.EventPolicy. Tests that drive those events through gradio_client open the page first.
"""

from __future__ import annotations

import httpx


def load_event(config: dict) -> dict:
    """The page's load event in a Gradio /config."""
    return next(d for d in config["dependencies"] if any(target[1] == "load" for target in d["targets"]) and d.get("backend_fn"))


def open_page(client, headers: dict | None = None):
    """Run the page's load event in `client`'s session (as the page does: by index, not by name); return the client."""
    event = load_event(client.config)
    body = {"data": [None] * len(event["inputs"]), "fn_index": event["id"], "session_hash": client.session_hash}
    response = httpx.post(client.src_prefixed + "run/predict", json=body, headers={**client.headers, **(headers or {})}, timeout=60)
    response.raise_for_status()
    return client
