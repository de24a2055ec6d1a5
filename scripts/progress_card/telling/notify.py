"""Notifications where the team already is, through apprise URLs (Slack, Discord, Teams, email, ntfy,
Telegram, a JSON webhook...). One that cannot be delivered is a warning, never a failure."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import apprise


def understood(url: str) -> bool:
    """apprise knows the URL's scheme and can parse the rest."""
    return apprise.Apprise().add(url)


def describe(url: str) -> str:
    """A URL as messages may show it: its scheme only, since the rest often holds a webhook's secret."""
    scheme, found, _ = url.partition("://")
    return f"{scheme}://…" if found else "(a value with no scheme://)"


class Notifier:
    def __init__(self, urls: Sequence[str]) -> None:
        self._urls = list(urls)

    def __bool__(self) -> bool:
        return bool(self._urls)

    def invalid(self) -> list[str]:
        """The URLs apprise does not understand, as messages may show them."""
        return [describe(url) for url in self._urls if not understood(url)]

    def send(self, title: str, body: str) -> str | None:
        """Send to every URL; a warning naming how many could not be reached, or None."""
        failed = 0
        for url in self._urls:
            target = apprise.Apprise()
            if not target.add(url):
                failed += 1
                continue
            with _quiet():
                delivered = target.notify(title=title, body=body)
            failed += not delivered
        if failed:
            return f"{failed} of {len(self._urls)} notification URLs could not be reached (message: {title})"
        return None


class _quiet:
    """apprise logs each failed delivery with its URL, which may hold a webhook's secret."""

    def __enter__(self) -> None:
        self._level = logging.getLogger("apprise").level
        logging.getLogger("apprise").setLevel(logging.CRITICAL)

    def __exit__(self, *_: object) -> None:
        logging.getLogger("apprise").setLevel(self._level)
