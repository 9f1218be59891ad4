"""Who may use a zhiyi on the clinic LAN: doctor and admin accounts, and API keys.

One SQLite file (``Settings.state_dir / "accounts.sqlite"``). Passwords are stored as bcrypt
hashes of their SHA-256 digest (bcrypt reads only 72 bytes; the digest makes any length
count). API keys are random 256-bit tokens, shown once and stored as SHA-256 digests: a
key is not a human password, so a slow hash adds nothing. Repeated wrong passwords for a
name are slowed down, doubling up to `MAX_DELAY` seconds.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

Role = Literal["doctor", "admin"]
ROLES: tuple[str, ...] = ("doctor", "admin")
KEY_PREFIX = "zy-"
MAX_DELAY = 8.0
MIN_PASSWORD = 6


@dataclass(frozen=True)
class User:
    name: str
    role: str
    created: str


@dataclass(frozen=True)
class ApiKey:
    name: str
    created: str


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _checked_name(name: str, what: str) -> str:
    name = name.strip()
    if not name or len(name) > 64:
        raise ValueError(f"{what}不能为空，且不超过 64 个字符")
    return name


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Accounts:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}  # name -> wrong passwords since the last right one
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, role TEXT NOT NULL, hash BLOB NOT NULL, created TEXT NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS api_keys (name TEXT PRIMARY KEY, digest TEXT UNIQUE NOT NULL, created TEXT NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=10)

    # -- users ------------------------------------------------------------------------
    def add_user(self, name: str, password: str, role: str = "doctor") -> User:
        import bcrypt

        name = _checked_name(name, "用户名")
        if role not in ROLES:
            raise ValueError(f"角色只能是 {' / '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"密码至少 {MIN_PASSWORD} 位")
        hashed = bcrypt.hashpw(_prehash(password), bcrypt.gensalt())
        user = User(name, role, _now())
        with self._lock, self._connect() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise ValueError(f"用户 {name} 已存在（先 zhiyi user remove {name}）")
            db.execute("INSERT INTO users VALUES (?, ?, ?, ?)", (user.name, user.role, hashed, user.created))
        return user

    def remove_user(self, name: str) -> bool:
        with self._lock, self._connect() as db:
            return db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount > 0

    def users(self) -> list[User]:
        with self._connect() as db:
            return [User(*row) for row in db.execute("SELECT name, role, created FROM users ORDER BY name")]

    def role_of(self, name: str) -> str | None:
        with self._connect() as db:
            row = db.execute("SELECT role FROM users WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def check_password(self, name: str, password: str) -> bool:
        """True for a right name and password. After a wrong one, the next attempt for that
        name waits 0.5, 1, 2 … up to MAX_DELAY seconds, so guessing is slow."""
        import bcrypt

        name = (name or "").strip()
        count = self._failures.get(name, 0)
        if count:
            time.sleep(min(MAX_DELAY, 0.25 * 2**count))
        with self._connect() as db:
            row = db.execute("SELECT hash FROM users WHERE name = ?", (name,)).fetchone()
        ok = bool(row) and bcrypt.checkpw(_prehash(password or ""), row[0])
        with self._lock:
            if ok:
                self._failures.pop(name, None)
            else:
                self._failures[name] = count + 1
        return ok

    # -- API keys ---------------------------------------------------------------------
    def add_key(self, name: str) -> str:
        """A new key for `name`; the only time the key itself is seen."""
        name = _checked_name(name, "密钥名称")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._lock, self._connect() as db:
            if db.execute("SELECT 1 FROM api_keys WHERE name = ?", (name,)).fetchone():
                raise ValueError(f"密钥 {name} 已存在（先 zhiyi apikey remove {name}）")
            db.execute("INSERT INTO api_keys VALUES (?, ?, ?)", (name, _digest(key), _now()))
        return key

    def remove_key(self, name: str) -> bool:
        with self._lock, self._connect() as db:
            return db.execute("DELETE FROM api_keys WHERE name = ?", (name,)).rowcount > 0

    def keys(self) -> list[ApiKey]:
        with self._connect() as db:
            return [ApiKey(*row) for row in db.execute("SELECT name, created FROM api_keys ORDER BY name")]

    def key_owner(self, key: str) -> str | None:
        """The name of the key, or None for an unknown one (compared by digest)."""
        if not key or not key.startswith(KEY_PREFIX):
            return None
        with self._connect() as db:
            row = db.execute("SELECT name FROM api_keys WHERE digest = ?", (_digest(key),)).fetchone()
        return row[0] if row else None
