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

Rooms: ``roles``, ``principal``, ``passwords``, ``tokens`` (sign-in, JWT/JWKS), ``rules`` (what
one may do), ``users`` (administration).
"""

from engine.access.messages import (
    MessageConfigError,
    MessagePolicy,
    load_message_policy,
)
from engine.access.passwords import PASSWORD_SLOTS, hash_password, verify_password
from engine.access.principal import Grant, Principal, load_principal
from engine.access.roles import (
    ADMINS,
    AUDIT_READERS,
    CASE_READERS,
    CENTRE_STAFF,
    DESIGNERS,
    MIN_PASSWORD,
    NON_CASE_ROLES,
    OIDC_ALGORITHMS,
    OPERATORS,
    REPORT_READERS,
    REPORTERS,
    ROLES,
)
from engine.access.rules import (
    audit_scope,
    can_assign,
    can_attach,
    can_claim,
    can_comment,
    can_control_case,
    can_deploy,
    can_manage_users,
    can_report,
    can_send_message,
    can_unclaim,
    can_work_on,
    claim_check,
    holds_candidacy,
    require,
    task_is_mine,
    visible_case,
    visible_task,
)
from engine.access.tokens import Access, IssuedToken, JwksCache
from engine.access.users import NewGrant, create_user, list_users
from engine.errors import AuthenticationFailed

__all__ = [
    "ADMINS",
    "AUDIT_READERS",
    "CASE_READERS",
    "CENTRE_STAFF",
    "DESIGNERS",
    "MIN_PASSWORD",
    "NON_CASE_ROLES",
    "OIDC_ALGORITHMS",
    "OPERATORS",
    "PASSWORD_SLOTS",
    "REPORTERS",
    "REPORT_READERS",
    "ROLES",
    "Access",
    "AuthenticationFailed",
    "Grant",
    "IssuedToken",
    "JwksCache",
    "MessageConfigError",
    "MessagePolicy",
    "NewGrant",
    "Principal",
    "audit_scope",
    "can_assign",
    "can_attach",
    "can_claim",
    "can_comment",
    "can_control_case",
    "can_deploy",
    "can_manage_users",
    "can_report",
    "can_send_message",
    "can_unclaim",
    "can_work_on",
    "claim_check",
    "create_user",
    "hash_password",
    "holds_candidacy",
    "list_users",
    "load_message_policy",
    "load_principal",
    "require",
    "task_is_mine",
    "verify_password",
    "visible_case",
    "visible_task",
]
