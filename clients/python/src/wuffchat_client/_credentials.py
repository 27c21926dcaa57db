"""Who the client is: an API key (services) or a user's tokens, refreshed before they expire.

Refresh tokens are single use and rotate, so concurrent calls share one refresh: the lock holder
refreshes, the others find new tokens when they get the lock. `on_tokens` hears every change (new
pair, or None when the session ended) so a caller can persist them; tokens are never logged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from wuffchat_client.errors import Unauthenticated
from wuffchat_client.models import TokenPair

Metadata = tuple[tuple[str, str], ...]
TokensListener = Callable[[TokenPair | None], None]
Refresher = Callable[[str], Awaitable[TokenPair]]

EARLY_REFRESH_SECONDS = 30.0  # refresh this long before the access token expires ...
EARLY_REFRESH_SHARE = 0.1  # ... or this share of its lifetime, whichever is shorter


class Credentials:
    """The credential for the next call; `api_key` is used only while no user tokens are held."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        tokens: TokenPair | None = None,
        on_tokens: TokensListener | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._api_key = api_key
        self._tokens = tokens
        self._on_tokens = on_tokens
        self._clock = clock
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        kind = "tokens" if self._tokens else "api_key" if self._api_key else "none"
        return f"Credentials({kind})"

    @property
    def tokens(self) -> TokenPair | None:
        return self._tokens

    @property
    def has_tokens(self) -> bool:
        return self._tokens is not None

    def set_tokens(self, tokens: TokenPair | None) -> None:
        self._tokens = tokens
        if self._on_tokens is not None:
            self._on_tokens(tokens)

    def metadata(self) -> Metadata:
        if self._tokens is not None:
            return (("authorization", f"{self._tokens.token_type} {self._tokens.access_token}"),)
        if self._api_key is not None:
            return (("x-api-key", self._api_key),)
        return ()

    def _due(self, tokens: TokenPair) -> bool:
        margin = min(EARLY_REFRESH_SECONDS, tokens.access_lifetime * EARLY_REFRESH_SHARE)
        return self._clock() >= tokens.access_expires_at - margin

    async def fresh(self, refresher: Refresher) -> None:
        """Refresh the tokens first if the access token is about to expire."""
        tokens = self._tokens
        if tokens is not None and self._due(tokens):
            await self.refresh(refresher, tokens)

    async def refresh(self, refresher: Refresher, stale: TokenPair | None = None) -> TokenPair | None:
        """Exchange the refresh token for a new pair, once for all callers holding `stale`.

        Raises whatever `refresher` raises (Unauthenticated ends the session: tokens become None).
        """
        async with self._lock:
            current = self._tokens
            if current is None:
                return None
            if stale is not None and current is not stale:
                return current  # another call refreshed while this one waited
            try:
                renewed = await refresher(current.refresh_token)
            except Unauthenticated:
                self.set_tokens(None)
                raise
            self.set_tokens(renewed)
            return renewed
