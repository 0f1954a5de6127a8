"""Secrets at the edges: signed tokens, the shop's proof of a customer's identity, the key rules, passwords.

A shopper token opens one chat session for a while; an agent token names an agent (whose row the API
re-reads on every request); a customer signature is the shop backend's HMAC of a customer id.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt

from assistant import metrics
from assistant.config import DEVELOPMENT_SECRET_KEY

ALGORITHM = "HS256"


class TokenError(Exception):
    """The token is missing, forged, expired or of the wrong kind."""


@dataclass(frozen=True)
class AgentClaims:
    agent_id: int
    role: str
    name: str
    jti: str
    expires_at: int


MIN_SECRET_KEY_BYTES = 32


class InsecureSecretKey(Exception):
    """The secret key may not sign tokens on this server (development key or too short, off loopback)."""


def check_secret_key(secret_key: str, host: str, demo_mode: bool, identity_secret: str | None = None) -> None:
    """Refuse the public development key or a short key, unless the server is a demo or only on loopback;
    likewise a short identity secret (each signed-in shopper sees an id and its signature: enough to search
    a short secret offline)."""
    if demo_mode or _is_loopback(host):
        return
    if identity_secret and len(identity_secret.encode()) < MIN_SECRET_KEY_BYTES:
        raise InsecureSecretKey(f"refusing to serve on {host}: SHOPASSIST_IDENTITY_SECRET is shorter than "
                                f"{MIN_SECRET_KEY_BYTES} bytes")
    if hmac.compare_digest(secret_key.encode(), DEVELOPMENT_SECRET_KEY.encode()):
        raise InsecureSecretKey(f"refusing to serve on {host} with the public development key: set "
                                f"SHOPASSIST_SECRET_KEY to a random key of at least {MIN_SECRET_KEY_BYTES} bytes")
    if len(secret_key.encode()) < MIN_SECRET_KEY_BYTES:
        raise InsecureSecretKey(f"refusing to serve on {host}: SHOPASSIST_SECRET_KEY is shorter than "
                                f"{MIN_SECRET_KEY_BYTES} bytes")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def customer_signature(identity_secret: str, customer_id: str) -> str:
    """What the shop's backend sends beside a customer id: hex(HMAC-SHA256(identity secret, customer id))."""
    return hmac.new(identity_secret.encode(), customer_id.encode(), hashlib.sha256).hexdigest()


def customer_signature_matches(identity_secret: str, customer_id: str, signature: str | None) -> bool:
    """Constant-time comparison, so the time taken tells nothing about how much of a guess was right."""
    expected = customer_signature(identity_secret, customer_id)
    return hmac.compare_digest(expected.encode(), (signature or "").strip().lower().encode())


def issue_session_token(secret: str, session_id: str, ttl_s: int) -> str:
    now = int(time.time())
    return jwt.encode({"kind": "shopper", "sid": session_id, "jti": uuid.uuid4().hex, "iat": now,
                       "exp": now + ttl_s}, secret, algorithm=ALGORITHM)


def read_session_token(secret: str, token: str | None) -> str:
    """The session id a shopper token opens; tokens without an expiry (issued before they had one) are refused."""
    claims = _decode(secret, token, require=("exp", "jti"))
    if claims.get("kind") != "shopper":
        raise TokenError("not a shopper token")
    return str(claims["sid"])


def issue_agent_token(secret: str, agent_id: int, role: str, name: str, ttl_s: int) -> tuple[str, AgentClaims]:
    now = int(time.time())
    claims = AgentClaims(agent_id, role, name, uuid.uuid4().hex, now + ttl_s)
    token = jwt.encode({"kind": "agent", "sub": str(agent_id), "role": role, "name": name,
                        "jti": claims.jti, "iat": now, "exp": claims.expires_at}, secret, algorithm=ALGORITHM)
    return token, claims


def read_agent_token(secret: str, token: str | None) -> AgentClaims:
    claims = _decode(secret, token)
    if claims.get("kind") != "agent":
        raise TokenError("not an agent token")
    return AgentClaims(int(claims["sub"]), str(claims["role"]), str(claims.get("name", "")),
                       str(claims["jti"]), int(claims["exp"]))


def _decode(secret: str, token: str | None, require: tuple[str, ...] = ()) -> dict:
    if not token:
        raise TokenError("missing token")
    try:
        return jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": list(require)})
    except jwt.ExpiredSignatureError as e:
        raise TokenError("token expired") from e
    except jwt.PyJWTError as e:
        raise TokenError("invalid token") from e


_hasher = None


def _password_hasher():
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher

        _hasher = PasswordHasher()
    return _hasher


def hash_password(password: str) -> str:
    return _password_hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _password_hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_dummy_hash: str | None = None


def warm_dummy_password_hash() -> str:
    """A hash of a random password nobody knows, with the same parameters as the real ones."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_urlsafe(24))
    return _dummy_hash


async def check_password(password_hash: str | None, password: str) -> bool:
    """Verify in a worker thread (argon2 takes tens of ms and 64 MiB: never on the event loop). An unknown
    account (no hash) is verified against a dummy hash, so it costs what a wrong password costs."""
    metrics.PASSWORD_CHECKS.inc()
    if password_hash is None:
        await asyncio.to_thread(verify_password, await asyncio.to_thread(warm_dummy_password_hash), password)
        return False
    return await asyncio.to_thread(verify_password, password_hash, password)
