"""Read the app's result HTML the way the tests need it: each card's data attributes and text, and the summary."""

from __future__ import annotations

import re
from html import unescape


def cards(html: str) -> list[dict]:
    """Each result card's data attributes, plus its text (images left out)."""
    found = []
    for chunk in html.split("<article")[1:]:
        attributes = dict(re.findall(r'data-([\w-]+)="([^"]*)"', chunk))
        text = re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]+"', "", chunk))
        found.append({**attributes, "text": unescape(" ".join(text.split()))})
    return found


def summary(html: str) -> dict:
    """The batch summary's data attributes, plus its text."""
    section = re.search(r'<section class="slc-summary"([^>]*)>(.*?)</section>', html, re.S)
    assert section, html[:500]
    text = unescape(" ".join(re.sub(r"<[^>]+>", " ", section.group(2)).split()))
    return {**dict(re.findall(r'data-([\w-]+)="([^"]*)"', section.group(1))), "text": text}
