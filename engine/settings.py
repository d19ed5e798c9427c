"""Settings from ``BIHUAN_*`` environment variables.

No module-level instance: build one and pass it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEMO_SECRET = "bihuan-demo-secret-do-not-use-in-production"
ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BIHUAN_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{ROOT / 'var' / 'bihuan.db'}",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db",
    )
    demo: bool = False
    secret_key: str = DEMO_SECRET
    token_lifetime_minutes: int = 480
    workers: int = 2
    host: str = "127.0.0.1"
    port: int = 8000
    max_request_bytes: int = 5 * 1024 * 1024
    processes_dir: Path = ROOT / "processes"
    forms_dir: Path = ROOT / "forms"
    organisations_file: Path = ROOT / "processes" / "organisations.yaml"
    # Scheduler
    scheduler_enabled: bool = True
    poll_interval_seconds: float = 2.0
    lease_seconds: int = 10  # claimed items and leadership; takeover ≤ lease + poll (issue 13)
    # Calendar
    # A year without an official 调休 table never blocks casework: ``provisional`` counts the
    # statutory holidays and weekends, ``weekends_only`` weekends alone (docs/deadlines.md).
    missing_year_policy: Literal["provisional", "weekends_only"] = "provisional"
    calendar_override_file: Path | None = None  # an operator's holidays.yaml (next year, local)
    deadlines_file: Path = ROOT / "processes" / "deadlines.yaml"
    # Script sandbox limits
    script_timeout_seconds: float = 1.0
    script_max_steps: int = 100_000
    script_max_size: int = 1_000_000
    # OpenID Connect (optional)
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_user_claim: str = "preferred_username"
    # The web console (console/dist, built by `make console`) served at /
    console_dir: Path = ROOT / "console" / "dist"
    # CORS: front-ends on other origins allowed to call the API; none by default. In the
    # environment a comma-separated list: BIHUAN_CORS_ORIGINS=https://a.example,https://b.example
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Evidence (证据材料): attachments' bytes by SHA-256 on the local disk, or in an S3-compatible
    # store when several nodes share them (docs/evidence.md). The database holds the metadata.
    evidence_store: Literal["local", "s3"] = "local"
    evidence_dir: Path = ROOT / "var" / "evidence"
    evidence_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=512 * 1024 * 1024)
    s3_endpoint: str | None = None  # e.g. http://minio.intranet:9000
    s3_bucket: str = "bihuan-evidence"
    s3_region: str = "us-east-1"
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    # 疑似重复: an open case of the same category sharing a party within this distance is flagged.
    duplicate_radius_m: float = Field(default=500.0, gt=0, le=50_000)
    # Storage faults (docs/reliability.md, "Storage faults"). PostgreSQL session timeouts, set on
    # every pooled connection (0 turns one off): a frozen node holding a case's row lock delays
    # the others by at most ``db_lock_timeout_seconds`` (they answer 409 ``busy``, retryable).
    db_lock_timeout_seconds: float = Field(default=5.0, ge=0)
    db_statement_timeout_seconds: float = Field(default=30.0, ge=0)
    db_idle_in_transaction_timeout_seconds: float = Field(default=60.0, ge=0)
    # An ``Idempotency-Key`` reservation is leased to the process running its request and
    # renewed while it runs; one whose owner died can be taken over once the lease lapses.
    idempotency_lease_seconds: float = Field(default=15.0, gt=0, le=3600)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            parts = urlsplit(origin)
            if (
                parts.scheme not in ("http", "https")
                or not parts.hostname
                or parts.path not in ("", "/")
                or parts.query
                or parts.fragment
                or parts.username
            ):
                raise ValueError(
                    f"BIHUAN_CORS_ORIGINS: {origin!r} is not an origin: write scheme://host[:port] "
                    "with no path (e.g. https://console.example.org); '*' is not accepted"
                )
        return [o.rstrip("/") for o in value]

    @field_validator("missing_year_policy", mode="before")
    @classmethod
    def _no_strict_calendar(cls, value: object) -> object:
        if value == "strict":
            raise ValueError(
                "'strict' is no longer offered: it blocked casework (dispatch failed with "
                "calendar_data_missing) whenever a deadline reached a year without an official "
                "table; use 'provisional' (the default: statutory holidays + weekends, marked "
                "provisional and recomputed when `bihuan calendar load` loads the year) or "
                "'weekends_only'"
            )
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_secret(self) -> Settings:
        if not self.demo and self.secret_key == DEMO_SECRET:
            # Only the API refuses to start (see api.app); the CLI may run on the default.
            pass
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def secret_is_unsafe(self) -> bool:
        return not self.demo and (self.secret_key == DEMO_SECRET or len(self.secret_key) < 32)

    # Work budget of one command (issue 14; engine/budget.py ModelBudget): engine steps without
    # a wait, standard-loop iterations, multi-instance instances, and the command's wall time.
    budget_engine_steps: int = Field(default=5_000, gt=0)
    budget_loop_maximum: int = Field(default=1_000, gt=0)
    budget_mi_cardinality: int = Field(default=500, gt=0)
    budget_command_seconds: float = Field(default=5.0, gt=0, le=3600)
    # Supervision (督办) and notices: a webhook taking each notice as JSON (a 政务微信 robot, an
    # SMS gateway); unset = notices go to the log. Failed sends retry with exponential backoff
    # (base seconds, doubling, at most an hour) and after max attempts become dead letters.
    notify_webhook_url: str | None = None
    notify_webhook_secret: str = ""
    notify_webhook_timeout_seconds: float = 5.0
    notify_max_attempts: int = Field(default=8, ge=1, le=50)
    notify_retry_base_seconds: float = Field(default=10.0, gt=0)
    supervision_answer_days: int = Field(default=3, ge=1, le=30)
    # -- inputs: the messages a client may send through the API (engine/access/messages.py)
    #: message name → roles that may send it; a message not listed there is refused (403)
    messages_file: Path = ROOT / "processes" / "messages.yaml"
    # Process supervision and failover (issue 13)
    # How long `bihuan serve` waits for a worker to answer its health ping (at start-up and
    # while serving) before killing and replacing it: generous, a loaded machine starves workers.
    worker_healthcheck_seconds: int = Field(default=60, ge=5)
    # On SIGTERM: in-flight requests get this long to finish; then they are abandoned (their
    # transactions roll back) and every worker is killed.
    shutdown_grace_seconds: int = Field(default=20, ge=1)
