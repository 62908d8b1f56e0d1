"""One-click unsubscribe links (RFC 8058) for non-transactional mail.

The link carries the address and an HMAC of it, so the endpoint needs no session and a
link cannot be forged for another address.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from ..settings import NotificationSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UnsubscribeLinks:
    base_url: str
    secret: bytes

    def token(self, email: str) -> str:
        return hmac.new(self.secret, email.lower().encode(), hashlib.sha256).hexdigest()[:32]

    def link(self, email: str) -> str:
        query = urlencode({"email": email, "token": self.token(email)})
        return f"{self.base_url.rstrip('/')}/unsubscribe?{query}"

    def valid(self, email: str, token: str) -> bool:
        # Compared as bytes: compare_digest refuses str with non-ASCII characters.
        return hmac.compare_digest(self.token(email).encode(), token.encode())


def unsubscribe_links(settings: NotificationSettings) -> UnsubscribeLinks:
    if settings.unsubscribe_secret is None:
        log.warning(
            "ENTITLE_UNSUBSCRIBE_SECRET is not set: unsubscribe links stop working on restart"
        )
        secret = secrets.token_bytes(32)
    else:
        secret = settings.unsubscribe_secret.get_secret_value().encode()
    return UnsubscribeLinks(settings.portal_url, secret)
