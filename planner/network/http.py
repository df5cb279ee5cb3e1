"""The one place fangang opens a URL: a road server's answers (OSRM's ``table`` for the planner,
its ``route`` for the checker). Each caller reads the answer its own way."""

from __future__ import annotations

import urllib.error
import urllib.request


def get(url: str, timeout: float) -> tuple[int, bytes]:
    """GET ``url``: its HTTP status and body (an error status comes back too, with its body:
    OSRM explains a refused query in it). Raises :class:`OSError` when the server cannot be
    reached (refused, timed out, unknown host)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (a configured road server)
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), (exc.read() if exc.fp is not None else b"")
