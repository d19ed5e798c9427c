"""Identity and permissions as engine rules: who someone is, what they hold, what they may do.

    sign-in        argon2 password hashes; a bearer JWT (HS256) signed with the server key, or an
                   OpenID Connect ID/access token verified against the provider's JWKS
    principal      a user and the roles they hold in organisation units (``user_roles``)
    jurisdiction   the subtrees under the units where they hold a case-reading role:
                   ``cases.org_path LIKE unit.path || '%'``
    candidacy      a task's (candidate org, candidate role) pair that the user holds

Visibility comes before permission: what lies outside someone's jurisdiction (and is not theirs
to work on) is *not found* (404) — its existence is never confirmed; what they can see but may
not do is *forbidden* (403). Roles and the active flag are read from the database on every
request, so revoking a role takes effect at once; the token carries only the user id.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.audit import Actor
from engine.clock import Clock, SystemClock
from engine.errors import BihuanError, Conflict, InputInvalid, NotFound, PermissionDenied
from engine.settings import Settings
from engine.storage.database import Database
from engine.storage.models import Case, HumanTask, OrgUnit, User, UserRole

# ---------------------------------------------------------------- roles

ROLES = frozenset(
    {
        "grid_worker", "village_cmte", "township_center", "county_center", "handling_unit",
        "case_leader", "revisit_agent", "supervisor", "mediator", "designer", "auditor", "admin",
    }
)  # fmt: skip
#: Roles that do not read or touch cases: designing processes and managing users.
NON_CASE_ROLES = frozenset({"designer", "admin"})
#: Roles whose units' subtrees they may read.
CASE_READERS = ROLES - NON_CASE_ROLES
#: Roles that act on cases and tasks (everyone who reads, except the auditor).
OPERATORS = CASE_READERS - {"auditor"}
#: Who may report a matter (发现、上报).
REPORTERS = frozenset({"grid_worker", "village_cmte", "township_center", "county_center"})
#: 综治中心 staff: suspend, resume, cancel, reassign and take back tasks in their jurisdiction.
CENTRE_STAFF = frozenset({"township_center", "county_center", "supervisor"})
#: Who reads the audit record and KPIs of their jurisdiction (纪检/政法委 auditors, 督办, centres).
AUDIT_READERS = frozenset({"auditor", "supervisor", "township_center", "county_center"})
DESIGNERS = frozenset({"designer"})
ADMINS = frozenset({"admin"})
MIN_PASSWORD = 8
OIDC_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


class AuthenticationFailed(BihuanError):
    """No valid credentials (maps to 401)."""

    code = "unauthenticated"


# ---------------------------------------------------------------- principal


@dataclass(frozen=True)
class Grant:
    role: str
    org_id: str
    org_path: str


@dataclass(frozen=True)
class Principal:
    user_id: str
    display_name: str
    grants: tuple[Grant, ...]

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(g.role for g in self.grants)

    def has_any(self, roles: Iterable[str]) -> bool:
        wanted = set(roles)
        return any(g.role in wanted for g in self.grants)

    def paths(self, roles: Iterable[str] = CASE_READERS) -> list[str]:
        """The roots of the subtrees these roles cover, without nested duplicates."""
        wanted = set(roles)
        found = sorted({g.org_path for g in self.grants if g.role in wanted}, key=len)
        roots: list[str] = []
        for path in found:
            if not any(path.startswith(r) for r in roots):
                roots.append(path)
        return roots

    def covers(self, org_path: str | None, roles: Iterable[str] = CASE_READERS) -> Grant | None:
        """The most specific grant among ``roles`` whose subtree holds ``org_path``."""
        if org_path is None:
            return None
        wanted = set(roles)
        best: Grant | None = None
        for g in self.grants:
            if (
                g.role in wanted
                and org_path.startswith(g.org_path)
                and (best is None or len(g.org_path) > len(best.org_path))
            ):
                best = g
        return best

    def candidacy(self) -> list[tuple[str, str]]:
        """The (org, role) pairs this user holds, for the candidate inbox."""
        return sorted({(g.org_id, g.role) for g in self.grants if g.role in OPERATORS})

    def actor(self, grant: Grant | None = None) -> Actor:
        if grant is None:
            grant = next((g for g in self.grants if g.role in OPERATORS), None) or next(
                iter(self.grants), None
            )
        if grant is None:
            return Actor(self.user_id)
        return Actor(self.user_id, grant.role, grant.org_id)


def _principal_statement() -> Select[Any]:
    """The user and their grants in one round trip, built once (the id is a parameter)."""
    users, roles, units = User.__table__, UserRole.__table__, OrgUnit.__table__
    area = units.alias("area")
    return (
        select(
            users.c.id,
            users.c.display_name,
            users.c.active,
            roles.c.role,
            roles.c.org_id,
            units.c.path,
            units.c.kind,
            area.c.path.label("area_path"),
        )
        .select_from(
            users.outerjoin(roles, roles.c.user_id == users.c.id)
            .outerjoin(units, units.c.id == roles.c.org_id)
            .outerjoin(area, area.c.id == units.c.parent_id)
        )
        .where(users.c.id == bindparam("user_id"))
        .order_by(roles.c.org_id, roles.c.role)
    )


_PRINCIPAL = _principal_statement()


def load_principal(s: Session, user_id: str) -> Principal | None:
    """The active user with their grants, or None when unknown or deactivated.

    Read fresh on every call (one statement): revoking a role or deactivating a user takes
    effect on the next request, in every worker."""
    rows = s.connection().execute(_PRINCIPAL, {"user_id": user_id}).all()
    if not rows or not rows[0].active:
        return None
    # A 综治中心 (kind "centre") serves its whole area: its staff's jurisdiction is the area
    # the centre belongs to (the county centre sees the county), not the centre unit alone.
    grants = tuple(
        Grant(r.role, r.org_id, r.area_path if r.kind == "centre" and r.area_path else r.path)
        for r in rows
        if r.role is not None
    )
    return Principal(rows[0].id, rows[0].display_name, grants)


# ---------------------------------------------------------------- passwords

_HASHER = PasswordHasher()

#: Concurrent argon2 computations per process. Each one holds the hash's memory cost (64 MiB
#: with the defaults) while it runs, so 32 simultaneous sign-ins in one API worker held ~1.1 GB;
#: with 2 slots a worker's password work stays under ~130 MB and the others wait their turn
#: (3 slots measured a 334 MB peak in one worker; on 2 cores more at once finish no sooner).
PASSWORD_SLOTS = 2
_PASSWORD_WORK = threading.BoundedSemaphore(PASSWORD_SLOTS)


def hash_password(password: str) -> str:
    with _PASSWORD_WORK:
        return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        with _PASSWORD_WORK:
            return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# ---------------------------------------------------------------- tokens


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
        with self.db.session() as s:
            user = s.get(User, username)
            stored = user.password_hash if user is not None and user.active else None
        if stored is None or not verify_password(stored, password):
            raise AuthenticationFailed("用户名或密码错误 (wrong user name or password)")
        with self.db.session() as s:
            user = s.get(User, username)
            if user is None or not user.active or user.password_hash != stored:
                raise AuthenticationFailed("用户名或密码错误 (wrong user name or password)")
            if user.password_hash and _HASHER.check_needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            principal = load_principal(s, username)
        if principal is None:
            raise AuthenticationFailed("用户名或密码错误 (wrong user name or password)")
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
        with self.db.session() as s:
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


# ---------------------------------------------------------------- rules: definitions, users


def require(principal: Principal, roles: Iterable[str], doing: str) -> None:
    if not principal.has_any(roles):
        raise PermissionDenied(f"无权{doing} (you may not {doing})")


def can_deploy(principal: Principal) -> None:
    require(principal, DESIGNERS, "deploy process definitions")


def can_manage_users(principal: Principal) -> None:
    require(principal, ADMINS, "manage users")


# ---------------------------------------------------------------- rules: audit and KPIs


def audit_scope(s: Session, principal: Principal, org: str | None) -> str:
    """The org path an audit search or KPI report may cover: ``org`` (a unit id) if it lies in
    the caller's audit jurisdiction, or the caller's own when they have exactly one."""
    require(principal, AUDIT_READERS, "read the audit record")
    roots = principal.paths(AUDIT_READERS)
    if org is None:
        if len(roots) != 1:
            raise InputInvalid("请指定单位 (name the unit: org=...)", field="org")
        return roots[0]
    unit = s.get(OrgUnit, org)
    if unit is None or principal.covers(unit.path, AUDIT_READERS) is None:
        raise NotFound(f"没有单位 {org} (no unit {org} in your jurisdiction)")
    return unit.path


# ---------------------------------------------------------------- rules: cases


def _worked_on(s: Session, principal: Principal, case_no: str) -> bool:
    """Whether the user holds or held a task of the case (departments outside the subtree)."""
    for task in s.scalars(select(HumanTask).where(HumanTask.case_no == case_no)):
        if task_is_mine(principal, task):
            return True
    return False


def visible_case(s: Session, principal: Principal, case_no: str) -> Case:
    """The case if the caller may read it; otherwise *not found*, whether it exists or not."""
    case = s.get(Case, case_no)
    if case is None or not (
        principal.covers(case.org_path) is not None or _worked_on(s, principal, case_no)
    ):
        raise NotFound(f"没有案件 {case_no} (no case {case_no})")
    return case


def can_control_case(s: Session, principal: Principal, case_no: str) -> tuple[Case, Actor]:
    """Suspend, resume, cancel: 综治中心 staff whose jurisdiction holds the case."""
    case = visible_case(s, principal, case_no)
    grant = principal.covers(case.org_path, CENTRE_STAFF)
    if grant is None:
        raise PermissionDenied("只有综治中心工作人员可以挂起、恢复或撤销案件 (centre staff only)")
    return case, principal.actor(grant)


def can_report(s: Session, principal: Principal, grid_code: str | None) -> tuple[str, Actor]:
    """Report a matter: in a unit of one's own jurisdiction (one's own unit by default)."""
    require(principal, REPORTERS, "report a matter")
    if grid_code is None:
        grant = next(g for g in principal.grants if g.role in REPORTERS)
        return grant.org_id, principal.actor(grant)
    unit = s.get(OrgUnit, grid_code)
    found = principal.covers(unit.path, REPORTERS) if unit is not None else None
    if found is None:
        raise InputInvalid(
            f"网格 {grid_code} 不在您的辖区内 (unit {grid_code} is not in your jurisdiction)",
            field="grid_code",
        )
    return grid_code, principal.actor(found)


def can_send_message(s: Session, principal: Principal, correlation_key: str) -> Actor:
    case = visible_case(s, principal, correlation_key)
    grant = principal.covers(case.org_path, OPERATORS)
    if grant is None:
        raise PermissionDenied("无权向该案件发送消息 (you may not send messages to this case)")
    return principal.actor(grant)


# ---------------------------------------------------------------- rules: tasks


def holds_candidacy(principal: Principal, task: HumanTask, case_path: str | None) -> Grant | None:
    """The grant by which the user is a candidate for the task, if any."""
    for g in principal.grants:
        if g.role not in OPERATORS:
            continue
        if task.candidate_role is not None and g.role != task.candidate_role:
            continue
        if task.candidate_org is not None:
            if g.org_id == task.candidate_org:
                return g
        elif case_path is not None and case_path.startswith(g.org_path):
            return g
    return None


def task_is_mine(principal: Principal, task: HumanTask) -> bool:
    if principal.user_id in (task.assignee, task.completed_by):
        return True
    if task.state not in ("open", "claimed") or task.candidate_org is None:
        return False
    return any(
        g.org_id == task.candidate_org
        and g.role in OPERATORS
        and (task.candidate_role is None or g.role == task.candidate_role)
        for g in principal.grants
    )


#: The task and its case in one round trip (the id is a parameter).
_TASK_AND_CASE = (
    select(HumanTask, Case)
    .join(Case, Case.case_no == HumanTask.case_no)
    .where(HumanTask.id == bindparam("task_id"))
)


def visible_task(s: Session, principal: Principal, task_id: str) -> tuple[HumanTask, Case]:
    """The task if the caller may read it: its case is in their jurisdiction or it is theirs."""
    row = s.execute(_TASK_AND_CASE, {"task_id": task_id}).first()
    if row is None:
        raise NotFound(f"没有任务 {task_id} (no task {task_id})")
    task, case = row._tuple()
    if not (principal.covers(case.org_path) is not None or task_is_mine(principal, task)):
        raise NotFound(f"没有任务 {task_id} (no task {task_id})")
    return task, case


def can_claim(s: Session, principal: Principal, task_id: str) -> Actor:
    return claim_check(s, principal, task_id)[0]


def claim_check(s: Session, principal: Principal, task_id: str) -> tuple[Actor, Case]:
    """:func:`can_claim`, with the task's case as read for the check."""
    task, case = visible_task(s, principal, task_id)
    grant = holds_candidacy(principal, task, case.org_path)
    if grant is None:
        raise PermissionDenied(
            "您不是该任务的候选办理人 (you do not hold the task's candidate role and unit)"
        )
    return principal.actor(grant), case


def _acting_grant(principal: Principal, task: HumanTask, case: Case) -> Grant | None:
    return holds_candidacy(principal, task, case.org_path) or principal.covers(
        case.org_path, OPERATORS
    )


def can_work_on(s: Session, principal: Principal, task_id: str) -> tuple[HumanTask, Actor]:
    """Complete (the engine checks that the caller is the assignee)."""
    task, case = visible_task(s, principal, task_id)
    grant = _acting_grant(principal, task, case)
    if grant is None and task.assignee != principal.user_id:
        raise PermissionDenied("只读权限 (read-only access)")
    return task, principal.actor(grant)


def can_unclaim(s: Session, principal: Principal, task_id: str) -> tuple[Actor, bool]:
    """The assignee gives a task back; centre staff may take it back from anyone (force)."""
    task, case = visible_task(s, principal, task_id)
    if task.assignee in (principal.user_id, None):  # unclaimed: the engine answers "not claimed"
        return principal.actor(_acting_grant(principal, task, case)), False
    staff = principal.covers(case.org_path, CENTRE_STAFF)
    if staff is None:
        raise PermissionDenied("只能退回自己领取的任务 (only the assignee can unclaim)")
    return principal.actor(staff), True


def can_comment(s: Session, principal: Principal, task_id: str) -> Actor:
    task, case = visible_task(s, principal, task_id)
    grant = _acting_grant(principal, task, case)
    if grant is None:
        raise PermissionDenied("只读权限，不能评论 (read-only access: you may not comment)")
    return principal.actor(grant)


def can_assign(s: Session, principal: Principal, task_id: str, assignee: str) -> Actor:
    """Centre staff assign in their jurisdiction; the assignee may delegate to another candidate.

    The new assignee must be an active user who holds the task's candidate role and unit.
    """
    task, case = visible_task(s, principal, task_id)
    staff = principal.covers(case.org_path, CENTRE_STAFF)
    if staff is None and task.assignee != principal.user_id:
        raise PermissionDenied(
            "只有综治中心工作人员或当前办理人可以转派 (centre staff or the assignee only)"
        )
    target = load_principal(s, assignee)
    if target is None:
        raise InputInvalid(f"没有用户 {assignee} (no active user {assignee})", field="assignee")
    if (task.candidate_org or task.candidate_role) and holds_candidacy(
        target, task, case.org_path
    ) is None:
        raise InputInvalid(
            f"{assignee} 不是该任务的候选办理人 "
            f"({assignee} does not hold the task's role and unit)",
            field="assignee",
        )
    return principal.actor(staff or _acting_grant(principal, task, case))


# ---------------------------------------------------------------- users


@dataclass(frozen=True)
class NewGrant:
    role: str
    org_id: str


def create_user(
    s: Session,
    admin: Principal,
    *,
    user_id: str,
    display_name: str,
    password: str,
    grants: Sequence[NewGrant],
    now: datetime,
) -> Principal:
    """An administrator adds a user with roles in units of the administrator's subtree."""
    can_manage_users(admin)
    if len(password) < MIN_PASSWORD:
        raise InputInvalid(f"密码至少 {MIN_PASSWORD} 位 (at least {MIN_PASSWORD} characters)",
                           field="password")  # fmt: skip
    for g in grants:
        if g.role not in ROLES:
            raise InputInvalid(f"未知角色 {g.role} (unknown role {g.role})", field="roles")
        unit = s.get(OrgUnit, g.org_id)
        if unit is None or admin.covers(unit.path, ADMINS) is None:
            raise InputInvalid(
                f"单位 {g.org_id} 不在您的管理范围内 (unit {g.org_id} is not in your scope)",
                field="roles",
            )
    if s.get(User, user_id) is not None:
        raise Conflict(f"用户 {user_id} 已存在 (user {user_id} exists)")
    s.add(User(id=user_id, display_name=display_name, password_hash=hash_password(password),
               active=True, created_at=now))  # fmt: skip
    try:
        s.flush()
    except IntegrityError:
        raise Conflict(f"用户 {user_id} 已存在 (user {user_id} exists)") from None
    for role, org_id in sorted({(g.role, g.org_id) for g in grants}):
        s.add(UserRole(user_id=user_id, role=role, org_id=org_id))
    s.flush()
    created = load_principal(s, user_id)
    assert created is not None
    return created


def list_users(s: Session, admin: Principal) -> list[Principal]:
    """Users holding a role somewhere in the administrator's subtree."""
    can_manage_users(admin)
    roots = admin.paths(ADMINS)
    ids = sorted(
        {
            uid
            for uid, path in s.execute(
                select(UserRole.user_id, OrgUnit.path).join(OrgUnit, OrgUnit.id == UserRole.org_id)
            )
            if any(path.startswith(r) for r in roots)
        }
    )
    users = [load_principal(s, uid) for uid in ids]
    return [u for u in users if u is not None]
