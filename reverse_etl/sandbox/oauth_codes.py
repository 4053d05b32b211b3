"""Single-use OAuth authorisation codes with a time limit."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable


class AuthCodes:
    """Issues ``auth_code`` values and redeems each at most once before it expires."""

    def __init__(self, ttl_seconds: float, clock: Callable[[], float]) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, tuple[str, float]] = {}  # code -> (app_id, expires_at)

    def issue(self, app_id: str) -> str:
        """A fresh code for ``app_id``."""
        code = secrets.token_hex(20)
        with self._lock:
            self._codes[code] = (app_id, self._clock() + self._ttl)
        return code

    def redeem(self, app_id: str, code: str) -> bool:
        """True once for a live code issued to ``app_id``; a used or expired code is gone."""
        with self._lock:
            entry = self._codes.get(code)
            if entry is None or entry[0] != app_id:
                return False
            del self._codes[code]
            return self._clock() < entry[1]
