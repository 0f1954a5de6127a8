"""Signed tokens: a shopper token opens one chat session; an agent token carries the agent's id and role."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

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


def issue_session_token(secret: str, session_id: str) -> str:
    return jwt.encode({"kind": "shopper", "sid": session_id}, secret, algorithm=ALGORITHM)


def read_session_token(secret: str, token: str | None) -> str:
    claims = _decode(secret, token)
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


def _decode(secret: str, token: str | None) -> dict:
    if not token:
        raise TokenError("missing token")
    try:
        return jwt.decode(token, secret, algorithms=[ALGORITHM])
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
