"""Argon2 password hashes, with a bound on how many hash at once."""

from __future__ import annotations

import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

HASHER = PasswordHasher()

#: Concurrent argon2 computations per process. Each one holds the hash's memory cost (64 MiB
#: with the defaults) while it runs, so 32 simultaneous sign-ins in one API worker held ~1.1 GB;
#: with 2 slots a worker's password work stays under ~130 MB and the others wait their turn
#: (3 slots measured a 334 MB peak in one worker; on 2 cores more at once finish no sooner).
PASSWORD_SLOTS = 2
_PASSWORD_WORK = threading.BoundedSemaphore(PASSWORD_SLOTS)


def hash_password(password: str) -> str:
    with _PASSWORD_WORK:
        return HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        with _PASSWORD_WORK:
            return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
