"""The one settings object. Every limit is a setting with a safe default (`PEERCHAT_` env vars)."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.bus.url import BusUrlError, backend_for
from nlp.types import NlpRuntime


class SettingsError(RuntimeError):
    """Raised when the configuration is unsafe or incomplete; start-up stops with its message."""


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PEERCHAT_", env_file=None, extra="ignore")

    # Deployment
    dev_mode: bool = Field(
        default=True,
        description="Development mode: a generated secret is allowed. Turn off in production.",
    )
    secret_key: str | None = Field(
        default=None, description="Signs bearer tokens. Required when dev_mode is off."
    )
    dev_secret_file: str = Field(
        default="./var/dev-secret",
        description="Dev mode without a secret: the generated one is kept here (mode 0600) "
        "and reused, so that a restart keeps everyone signed in.",
    )
    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/peerchat.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    redis_url: str | None = Field(
        default=None,
        description="The bus, by scheme: unset or memory:// is the in-process bus (one node); "
        "redis://, rediss:// or unix:// is Redis, which carries fan-out between nodes. Any other "
        "scheme is refused at start-up.",
    )
    redis_namespace: str = Field(
        default="peerchat", description="Prefix of every Redis key and channel peerchat uses."
    )
    node_id: str = Field(
        default_factory=lambda: secrets.token_hex(4),
        description="This node's name in presence and logs; random if unset.",
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated browser origins allowed on /ws besides the service's own.",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies trusted for X-Forwarded-For (client addresses for rate limits).",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")

    frontend_dir: str | None = Field(
        default=None,
        description="Folder of the web front end; default: frontend/ beside the app package.",
    )

    quick_exit_url: str = Field(
        default="https://www.bbc.com/weather",
        pattern=r"^https?://[^\s]+$",
        description="Where the participant page's quick exit goes: a neutral site (http or https).",
    )

    # Identity
    token_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    participant_token_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    address_rate_limits: Literal["on", "off"] = Field(
        default="on",
        description="Per-address limits on anonymous sessions and logins; off only for load tests.",
    )
    sessions_per_address_per_minute: int = Field(default=30, ge=1)
    logins_per_address_per_minute: int = Field(default=20, ge=1)
    login_failures_before_lock: int = Field(default=5, ge=1)
    login_lock_seconds: int = Field(default=15 * 60, ge=1)

    # Chat
    max_body_chars: int = Field(default=4000, ge=1)
    max_frame_bytes: int = Field(default=64 * 1024, ge=1024)
    messages_per_second: float = Field(default=5.0, gt=0)
    message_burst: int = Field(default=20, ge=1)
    frames_per_second: float = Field(default=30.0, gt=0)
    frame_burst: int = Field(default=60, ge=1)
    send_queue_size: int = Field(default=1024, ge=8)
    auth_timeout_seconds: float = Field(default=10.0, gt=0)
    history_page_max: int = Field(default=500, ge=1)
    presence_ttl_seconds: int = Field(default=30, ge=5)
    heartbeat_seconds: float = Field(
        default=10.0,
        ge=1.0,
        description="How often the node's heartbeat sweep pings sockets that sent nothing since "
        "the last sweep; one that leaves a ping unanswered until the next sweep is closed (1011) "
        "and its presence cleared: a client is closed after 2 to 3 sweeps without a frame or "
        "pong from it.",
    )

    # Peer workers and escalation
    worker_max_rooms: int = Field(default=3, ge=1)
    alert_ack_seconds: int = Field(default=60, ge=1)
    support_interval_seconds: int = Field(
        default=300,
        ge=0,
        description="A participant is offered crisis resources (the `support` frame) at most "
        "once in this many seconds per room.",
    )
    crisis_resources_file: str | None = Field(
        default=None,
        description="The crisis resources offered to participants, per language (the format "
        "of the front end's resources.json); default: the front end's resources.json, so the "
        "participant page, SMS and the support frame read one file.",
    )

    canned_responses_max: int = Field(
        default=200, ge=1, description="Most canned responses the service keeps."
    )

    # Moderation and privacy
    reports_per_minute: int = Field(default=10, ge=1)
    report_reason_max_chars: int = Field(default=500, ge=1)
    retention_days: int = Field(
        default=0, ge=0, description="Purge closed rooms' messages older than this; 0 keeps all."
    )
    retention_interval_seconds: int = Field(default=3600, ge=60)

    # Model
    model_enabled: bool = Field(default=True, description="Score messages with the NLP model.")
    model_threads: int = Field(default=1, ge=1)
    model_weights_dir: str | None = Field(
        default=None, description="Folder of fine-tuned weights; default: those shipped."
    )
    model_in_process: bool = Field(
        default=False,
        description="Run the model in a thread of the serving process instead of a child process.",
    )
    model_runtime: NlpRuntime = Field(
        default=NlpRuntime.AUTO,
        description="Inference path: auto (measured at load: ONNX int8 where faster than "
        "float32 on this CPU), onnx-int8, torch-float32 or torch-int8.",
    )

    # Security and reliability (v1.1)
    max_sockets_per_identity: int = Field(
        default=10, ge=1, description="Open WebSocket connections one identity may hold per node."
    )
    session_check_seconds: float = Field(
        default=2.0,
        gt=0,
        le=4.0,
        description="How often each node re-checks its sockets' accounts and token expiry.",
    )
    login_failures_per_minute_global: int = Field(
        default=200,
        ge=1,
        description="Failed sign-ins per minute on a node (all accounts) before addresses that "
        "have failed are refused for a while: a ceiling against password spraying.",
    )
    bus_publish_queue: int = Field(
        default=10_000, ge=100, description="Events waiting to go out to Redis, at most."
    )
    bus_op_timeout_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How long one Redis command may take before it counts as failed.",
    )
    bus_event_max_age_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Live news older than this is dropped instead of sent late (storage has it).",
    )
    alert_stream_max_age_seconds: int = Field(
        default=24 * 3600,
        ge=60,
        description="Alerts kept in the Redis alert stream at most this long (and 10,000 at most).",
    )
    readyz_write_timeout_seconds: float = Field(
        default=2.0, gt=0, description="/readyz fails when a test write takes longer than this."
    )

    # Phone access by SMS (app/sms); unset provider: SMS off
    sms_provider: Literal["twilio"] | None = Field(
        default=None, description="SMS provider: twilio. Unset: no SMS channel."
    )
    twilio_account_sid: str | None = Field(default=None, description="Twilio account SID.")
    twilio_auth_token: str | None = Field(
        default=None, description="Twilio auth token: signs webhooks and authenticates sends."
    )
    twilio_api_base: str = Field(
        default="https://api.twilio.com", description="Twilio's REST API (a stand-in in tests)."
    )
    sms_number: str | None = Field(default=None, description="The service's own phone number.")
    public_url: str | None = Field(
        default=None,
        description="The service's public base URL as the provider calls it (webhook signatures).",
    )
    sms_number_key: str | None = Field(
        default=None,
        description="Fernet key encrypting stored phone numbers; default: derived from the secret.",
    )
    sms_send_timeout_seconds: float = Field(default=10.0, gt=0)
    sms_send_attempts: int = Field(default=8, ge=1)
    sms_retry_base_seconds: float = Field(default=2.0, gt=0)
    sms_retry_max_seconds: float = Field(default=300.0, gt=0)
    sms_poll_seconds: float = Field(default=2.0, gt=0)
    sms_lease_seconds: float = Field(default=60.0, gt=0)
    sms_max_segments: int = Field(
        default=10, ge=1, le=10, description="SMS segments per sent part; longer texts split."
    )
    sms_help_text: str | None = Field(
        default=None,
        description="The answer to HELP and the crisis resources sent after a crisis; default: "
        "built from the helplines in the front end's resources.json.",
    )

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        return _split_list(value)

    @model_validator(mode="after")
    def _require_secret_outside_dev(self) -> Settings:
        if self.secret_key is None:
            if not self.dev_mode:
                raise SettingsError(
                    "PEERCHAT_SECRET_KEY is not set. Outside dev mode peerchat needs a secret of "
                    "at least 32 characters to sign tokens; generate one with "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
                )
            self.secret_key = dev_secret(Path(self.dev_secret_file))
        elif not self.dev_mode and len(self.secret_key) < 32:
            raise SettingsError("PEERCHAT_SECRET_KEY must be at least 32 characters long.")
        return self

    @model_validator(mode="after")
    def _check_bus_url(self) -> Settings:
        try:
            backend_for(self.redis_url)
        except BusUrlError as exc:
            raise SettingsError(str(exc)) from None
        return self

    @model_validator(mode="after")
    def _refuse_trusting_everyone(self) -> Settings:
        """Trusting X-Forwarded-For from anywhere lets every client choose its own address and
        so step past every per-address limit; outside dev mode that is refused."""
        if not self.dev_mode and "*" in _split_list(self.forwarded_allow_ips):  # type: ignore[operator]
            raise SettingsError(
                "PEERCHAT_FORWARDED_ALLOW_IPS='*' trusts X-Forwarded-For from any client, which "
                "defeats per-address limits; list only your proxies' addresses."
            )
        return self

    @model_validator(mode="after")
    def _require_sms_settings(self) -> Settings:
        if self.sms_provider == "twilio":
            missing = [
                name
                for name, value in (
                    ("PEERCHAT_TWILIO_ACCOUNT_SID", self.twilio_account_sid),
                    ("PEERCHAT_TWILIO_AUTH_TOKEN", self.twilio_auth_token),
                    ("PEERCHAT_SMS_NUMBER", self.sms_number),
                    ("PEERCHAT_PUBLIC_URL", self.public_url),
                )
                if not value
            ]
            if missing:
                raise SettingsError(
                    "PEERCHAT_SMS_PROVIDER=twilio needs " + ", ".join(missing) + " as well."
                )
        return self

    @property
    def signing_key(self) -> str:
        assert self.secret_key is not None  # set by the validator
        return self.secret_key

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def dev_secret(path: Path) -> str:
    """Dev mode's signing secret, generated once and kept in `path` (owner-only, 0600), so that
    a restart of a development server keeps everyone's session, as a developer expects. Two
    processes starting at once agree: the file is created exclusively and the loser reads it.
    Never used outside dev mode, where the secret must be given."""
    for _ in range(50):
        try:
            existing = path.read_text().strip()
        except FileNotFoundError:
            existing = None
        if existing is not None:
            if len(existing) >= 32:
                if path.stat().st_mode & 0o077:
                    path.chmod(0o600)  # readable by others: close it
                return existing
            if existing:
                raise SettingsError(
                    f"{path} does not hold a usable development secret; "
                    "delete it to make a new one."
                )
            time.sleep(0.02)  # another process has created it and is writing it
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue  # another process won the race: read its secret
        with os.fdopen(fd, "w") as handle:
            handle.write(secret + "\n")
        return secret
    raise SettingsError(f"could not read the development secret in {path}")


def load_settings() -> Settings:
    """Read the environment; raises SettingsError with a message fit for an operator."""
    try:
        return Settings()
    except SettingsError:
        raise
    except ValueError as exc:  # pydantic's ValidationError wraps our SettingsError
        cause = _find_settings_error(exc)
        if cause is not None:
            raise cause from None
        raise SettingsError(f"Invalid configuration: {exc}") from None


def _find_settings_error(exc: BaseException) -> SettingsError | None:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        for err in errors():
            ctx = err.get("ctx") or {}
            inner = ctx.get("error")
            if isinstance(inner, SettingsError):
                return inner
    return None
