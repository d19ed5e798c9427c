"""Sign-in and bearer tokens: HS256 JWTs signed with the server key, or OpenID Connect
tokens verified against the provider's JWKS (:class:`Access`)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy.orm import Session

from engine.access.passwords import HASHER, hash_password, verify_password
from engine.access.principal import Principal, load_principal
from engine.access.roles import OIDC_ALGORITHMS
from engine.clock import Clock, SystemClock
from engine.errors import AuthenticationFailed
from engine.settings import Settings
from engine.storage.database import Database
from engine.storage.models import User


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_at: datetime
    expires_in: int


class JwksCache:
    """The OpenID provider's signing keys, fetched on demand and kept for ``ttl`` seconds."""

    def __init__(
        self,
        url: str,
        *,
        fetch: Callable[[str], dict[str, Any]] | None = None,
        ttl: float = 300.0,
    ) -> None:
        self.url = url
        self._fetch = fetch or _http_json
        self._ttl = ttl
        self._keys: dict[str, Any] = {}
        self._at = 0.0
        self._lock = threading.Lock()

    def key(self, kid: str | None) -> Any:
        with self._lock:
            if time.monotonic() - self._at > self._ttl or (kid and kid not in self._keys):
                self._refresh()
            if kid is None and len(self._keys) == 1:
                return next(iter(self._keys.values()))
            if kid is None or kid not in self._keys:
                raise AuthenticationFailed("the token's signing key is unknown")
            return self._keys[kid]

    def _refresh(self) -> None:
        try:
            doc = self._fetch(self.url)
            keyset = jwt.PyJWKSet.from_dict(doc)
        except (OSError, ValueError, jwt.PyJWTError) as exc:
            raise AuthenticationFailed(
                f"the identity provider's keys are unavailable: {exc}"
            ) from None
        self._keys = {k.key_id or "": k.key for k in keyset.keys}
        self._at = time.monotonic()


def _http_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        doc = json.loads(response.read().decode("utf-8"))
    if not isinstance(doc, dict):
        raise ValueError("the JWKS document is not an object")
    return doc


class Access:
    """Sign-in and tokens. Build one per process from settings (thread-safe)."""

    ISSUER = "bihuan"

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Clock | None = None,
        jwks: JwksCache | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        if jwks is None and settings.oidc_jwks_url:
            jwks = JwksCache(settings.oidc_jwks_url)
        self.jwks = jwks

    def authenticate(self, username: str, password: str) -> Principal:
        # The hash is checked outside any transaction: a sign-in waiting for a password slot
        # (verify_password) must not hold a pooled connection meanwhile.
        # Both reads are read-only transactions: on SQLite a sign-in does not queue behind a
        # long command holding the write lock.
        with self.db.session(reading=True) as s:
            user = s.get(User, username)
            stored = user.password_hash if user is not None and user.active else None
        if stored is None or not verify_password(stored, password):
            raise AuthenticationFailed("用户名或密码错误 (wrong user name or password)")
        with self.db.session(reading=True) as s:
            user = s.get(User, username)
            if user is None or not user.active or user.password_hash != stored:
                raise AuthenticationFailed("用户名或密码错误 (wrong user name or password)")
            principal = load_principal(s, username)
        if principal is None:
            raise AuthenticationFailed("用户名或密码错误 (wrong user name or password)")
        if HASHER.check_needs_rehash(stored):
            with self.db.session() as s:
                user = s.get(User, username)
                if user is not None and user.password_hash == stored:
                    user.password_hash = hash_password(password)
        return principal

    def issue(self, principal: Principal) -> IssuedToken:
        now = self.clock.now()
        lifetime = timedelta(minutes=self.settings.token_lifetime_minutes)
        claims = {
            "iss": self.ISSUER,
            "sub": principal.user_id,
            "iat": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
        }
        token = jwt.encode(claims, self.settings.secret_key, algorithm="HS256")
        return IssuedToken(token, now + lifetime, int(lifetime.total_seconds()))

    def verify(self, token: str) -> Principal:
        """The principal a bearer token names, or :class:`AuthenticationFailed`."""
        user_id = self._subject(token)
        with self.db.session(reading=True) as s:
            return self.principal_in(s, user_id)

    def verify_in(self, s: Session, token: str) -> Principal:
        """:meth:`verify` inside the caller's transaction (one statement on ``s``)."""
        return self.principal_in(s, self._subject(token))

    @staticmethod
    def principal_in(s: Session, user_id: str) -> Principal:
        principal = load_principal(s, user_id)
        if principal is None:
            raise AuthenticationFailed("the user is unknown or deactivated")
        return principal

    def subject(self, token: str) -> str:
        """The user a valid token names (signature, issuer and expiry checked), without reading
        the database; :class:`AuthenticationFailed` otherwise. With an OpenID provider this may
        fetch its keys over the network."""
        return self._subject(token)

    def _subject(self, token: str) -> str:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthenticationFailed("the token is malformed") from None
        now = self.clock.now().timestamp()
        if header.get("alg") == "HS256":
            try:
                claims = jwt.decode(
                    token,
                    self.settings.secret_key,
                    algorithms=["HS256"],
                    issuer=self.ISSUER,
                    options={"require": ["exp", "sub", "iss"], "verify_exp": False},
                )
            except jwt.PyJWTError as exc:
                raise AuthenticationFailed(f"the token is invalid: {exc}") from None
            subject = claims.get("sub")
        elif self.jwks is not None and header.get("alg") in OIDC_ALGORITHMS:
            key = self.jwks.key(header.get("kid"))
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=OIDC_ALGORITHMS,
                    issuer=self.settings.oidc_issuer,
                    audience=self.settings.oidc_audience,
                    options={
                        "require": ["exp", "iss"],
                        "verify_exp": False,
                        "verify_aud": self.settings.oidc_audience is not None,
                    },
                )
            except jwt.PyJWTError as exc:
                raise AuthenticationFailed(f"the token is invalid: {exc}") from None
            subject = claims.get(self.settings.oidc_user_claim)
        else:
            raise AuthenticationFailed("the token's algorithm is not accepted")
        # Expiry against our clock (tests move it), with a minute of leeway for skew.
        if not isinstance(claims.get("exp"), int | float) or claims["exp"] + 60 < now:
            raise AuthenticationFailed("the token has expired")
        if not isinstance(subject, str) or not subject:
            raise AuthenticationFailed("the token names no user")
        return subject
