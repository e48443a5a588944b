"""One settings object for every process (API, worker, embedded launcher).

Every field can be set from the environment with the ``ESCALATIONS_`` prefix, e.g.
``ESCALATIONS_TEMPORAL_ADDRESS=my-ns.a1b2c.tmprl.cloud:7233``. Pointing the service at another
Temporal (a cluster, Temporal Cloud) is configuration only.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"
DEMO_WEBHOOK_SECRET = "demo-webhook-secret"
GATEWAYS = ("sms", "chat", "social", "phone", "staff", "crm")
# Public, so refused outside the demo (api/console/session.py)
DEMO_SESSION_SECRET = "demo-session-secret"
DEMO_FEEDBACK_SECRET = "demo-feedback-secret"  # public, so refused outside the demo


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESCALATIONS_", env_file=".env", extra="ignore")

    # Temporal connection
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "escalations"
    temporal_tls: bool = False
    temporal_tls_client_cert: Path | None = None
    temporal_tls_client_key: Path | None = None
    temporal_tls_server_ca: Path | None = None
    temporal_tls_server_name: str | None = None
    temporal_api_key: SecretStr | None = None

    # Encryption of Temporal payloads (core/codec.py): customer details and free text never
    # reach the Temporal server in the clear.
    payload_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description=(
            "AES-256 keys for Temporal payloads, key id -> base64 of 32 random bytes. From the "
            'environment as JSON: ESCALATIONS_PAYLOAD_KEYS=\'{"2025-06": "<base64>"}\'. '
            "Keep retired keys here (they still decrypt older histories); only the active one "
            "encrypts. Required outside the demo; with ESCALATIONS_DEMO=true and none set, a "
            "public demo key is used."
        ),
    )
    payload_key_id: str | None = Field(
        default=None,
        description=(
            "Id of the payload key that encrypts new payloads (ESCALATIONS_PAYLOAD_KEY_ID); "
            "may be left unset when ESCALATIONS_PAYLOAD_KEYS holds exactly one key."
        ),
    )
    # Actions the API vouches for are signed; the workers verify them (core/signing.py).
    action_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description=(
            "HMAC keys the API signs updates and starts with and the workers verify, key id -> "
            "base64 of 32 random bytes (ESCALATIONS_ACTION_KEYS, JSON). The same on the API and "
            "every worker; keep retired keys listed while cases may still receive their actions. "
            "Required outside the demo."
        ),
    )
    action_key_id: str | None = Field(
        default=None, description="Id of the action key that signs (ESCALATIONS_ACTION_KEY_ID)"
    )
    codec_cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:8233", "http://127.0.0.1:8233"],
        description=(
            "Browser origins (the Temporal Web UI) allowed to call the codec endpoint "
            "/codec/decode and /codec/encode. From the environment as JSON: "
            "ESCALATIONS_CODEC_CORS_ORIGINS='[\"https://temporal.example.com\"]'."
        ),
    )

    # The console (api/console/): browser sessions and links
    session_secret: SecretStr = Field(
        default=SecretStr(DEMO_SESSION_SECRET),
        description=(
            "Signs the console's session cookies and CSRF tokens (ESCALATIONS_SESSION_SECRET). "
            "Required outside the demo; the same value on every API process."
        ),
    )
    session_hours: float = Field(8.0, gt=0, le=24 * 7, description="Console session lifetime")
    # The customer's feedback link in each check-in (core/feedback.py)
    feedback_secret: SecretStr = Field(
        default=SecretStr(DEMO_FEEDBACK_SECRET),
        description=(
            "Signs the feedback links of check-in messages (workers) and verifies them (API) "
            "(ESCALATIONS_FEEDBACK_SECRET). Required outside the demo; the same everywhere."
        ),
    )
    public_url: str = Field(
        "http://localhost:8000",
        description="The API as customers reach it: feedback and status links start with it "
        "(ESCALATIONS_PUBLIC_URL)",
    )
    # The customer's status link in every customer message (core/status_links.py), signed with
    # the feedback secret under its own purpose
    status_link_days: float = Field(
        30,
        gt=0,
        le=365,
        description="How long a status link opens the case's page after its message was sent "
        "(ESCALATIONS_STATUS_LINK_DAYS)",
    )
    trust_forwarded_proto: bool = Field(
        False,
        description="Behind a TLS-terminating proxy that sets X-Forwarded-Proto: believe it "
        "(the session cookie is then Secure when the browser used https).",
    )
    temporal_ui_url: str | None = Field(
        "http://localhost:8233",
        description="The Temporal Web UI, linked from the console's case page for operators",
    )
    temporal_ui_upstream: str | None = Field(
        None,
        description="A Temporal Web UI started with `--ui-public-path /temporal` (the embedded "
        "run's dev server, e.g. http://127.0.0.1:8233), served by the API at /temporal to "
        "signed-in operators, so its codec calls carry the console session "
        "(docs/decisions/0022)",
    )

    # Staff sign-in through an OpenID Connect provider (api/oidc.py, docs/decisions/0055):
    # unset issuer = directory tokens only
    oidc_issuer: str | None = Field(
        None,
        description="The provider's issuer URL; its /.well-known/openid-configuration is read "
        "(ESCALATIONS_OIDC_ISSUER). Unset: no single sign-on, directory tokens only.",
    )
    oidc_client_id: str | None = Field(None, description="The console's client id at the provider")
    oidc_client_secret: SecretStr | None = Field(
        None, description="The console's client secret (unset: a public client, PKCE only)"
    )
    oidc_scopes: str = Field("openid profile email", description="Scopes the console asks for")
    oidc_audience: str | None = Field(
        None,
        description="The `aud` the API accepts in access tokens (default: the client id). A "
        "dedicated API audience keeps ID tokens out of the API.",
    )
    oidc_display_name: str = Field(
        "single sign-on", description="Named on the sign-in page's button: Sign in with <name>"
    )
    oidc_redirect_base: str | None = Field(
        None,
        description="The console's public base URL for the provider's redirect, e.g. "
        "https://escalations.example.com behind a TLS proxy (default: the request's own URL)",
    )
    oidc_person_source: Literal["directory", "claims"] = Field(
        "directory",
        description="Who a signed-in person is: `directory` (the entry matched by subject or "
        "e-mail wins; claims only for people it does not list) or `claims` (claims win, the "
        "matched entry fills what they leave out)",
    )
    oidc_role_claim: str = Field("groups", description="The claim that carries the role(s)")
    oidc_role_map: dict[str, str] = Field(
        default_factory=dict,
        description='Claim value -> role, e.g. {"escalations-agents": "agent"} '
        "(ESCALATIONS_OIDC_ROLE_MAP, JSON). Empty: claim values are role names.",
    )
    oidc_email_claim: str = Field("email", description="The claim with the person's e-mail")
    oidc_name_claim: str = Field("name", description="The claim with the display name")
    oidc_authority_claim: str = Field(
        "authority_limit", description="The claim with the authority limit (money)"
    )
    oidc_team_claim: str = Field("team", description="The claim with the specialist team")
    oidc_calendar_claim: str = Field("calendar", description="The claim with the calendar")
    oidc_authority_by_role: dict[str, float] = Field(
        default_factory=dict,
        description="Authority limit of a role when the claims carry none (JSON)",
    )
    oidc_leeway_s: int = Field(30, ge=0, le=300, description="Clock skew allowed on exp/iat")
    oidc_jwks_refresh_floor_s: float = Field(
        60.0,
        ge=0,
        description="At most one JWKS fetch per this many seconds for unknown key ids, so "
        "forged kids cannot hammer the provider",
    )

    # Process behaviour
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    log_format: Literal["auto", "console", "json"] = "auto"
    log_level: str = "INFO"
    worker_metrics_bind: str = "127.0.0.1:9464"
    worker_graceful_shutdown_s: float = 20.0
    # Bounds the worker's memory (RSS per cached escalation: bench/README.md); idle cases are
    # evicted and replayed when their next timer or action comes.
    worker_max_cached_workflows: int = 500
    # The workflow sandbox guards workflow code against non-deterministic calls. The test suite
    # (its workers and the replayer) runs every workflow path inside the strict default sandbox,
    # which is where such a call would be caught; the production worker runs the same code
    # unsandboxed by default, for less worker CPU per lifecycle (bench/README.md).
    worker_sandbox: bool = False
    # How often at most an activity's heartbeat reaches the server (the SDK keeps the latest
    # details meanwhile). The dispatch activity records each finished item of its batch this way:
    # shorter means fewer items sent twice after a worker dies mid-batch, longer means fewer
    # heartbeat calls; only batches of several items heartbeat at all (docs/decisions/0030).
    worker_heartbeat_throttle_s: float = Field(default=0.2, gt=0, le=30)

    # Policy, people, knowledge base
    demo: bool = False
    # Tokens are stored as HMAC-SHA256 under this pepper (core/directory.py). Required outside
    # the demo; the demo uses a public demo pepper, refused outside it.
    token_pepper: SecretStr | None = None
    # How often at most each process looks whether the directory file changed (SIGHUP: at once).
    directory_reload_s: float = Field(default=5.0, gt=0, le=60)
    # Requests per second per person and API process (a token bucket); generous by default, a
    # guard against a runaway client rather than a quota. rate_limit_per_s = 0 turns it off.
    rate_limit_per_s: float = Field(default=1000.0, ge=0)
    rate_limit_burst: int = Field(default=2000, ge=1)
    # Unknown tokens per client address and per token prefix, per API process (api/auth.py):
    # a burst of `auth_failure_burst`, then one every 1 / rate seconds; burst 0 turns it off.
    auth_failure_rate_per_s: float = Field(default=0.2, gt=0)
    auth_failure_burst: int = Field(default=10, ge=0)
    # Seeds the policy store on first start; from then on the store's live version is in force.
    policy_path: Path = CONFIG_DIR / "policy.toml"
    # How often a process looks for a newly live policy version (seconds).
    policy_refresh_s: float = Field(default=2.0, ge=0)
    directory_path: Path = CONFIG_DIR / "people.demo.toml"
    kb_dir: Path = CONFIG_DIR / "kb"
    data_dir: Path = ROOT / "data"

    # The report store (core/report_store): SQLite under data_dir by default (WAL), PostgreSQL
    # with e.g. ESCALATIONS_REPORT_DB_URL=postgresql://user:pass@host/db
    report_db_url: str | None = None
    # false: the worker writes no facts (the dispatch answers them done); for measuring the
    # store's cost, and for deployments without reports
    report_facts: bool = True

    # Outbound integrations (activities)
    smtp_host: str = "localhost"
    smtp_port: int = 1025
    # STARTTLS on the relay connection: "required" (refuse to send without it), "opportunistic"
    # (when the relay offers it; the certificate is still verified), "off" (plain SMTP).
    # true/false are read as required/off.
    smtp_starttls: Literal["required", "opportunistic", "off"] = "opportunistic"
    smtp_use_tls: bool = False  # implicit TLS from the first byte (port 465), instead
    smtp_tls_ca: Path | None = None  # CA bundle of a relay with a private certificate
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "escalations@example.invalid"
    # Idle SMTP connections kept open for the next message (activities/smtp.py); 0: a new
    # connection per message.
    smtp_keepalive_connections: int = Field(default=8, ge=0, le=100)
    # Webhook signing (activities/http.py): one secret per gateway, each falling back to the
    # shared ESCALATIONS_WEBHOOK_SECRET when unset. The public demo secret is refused outside
    # the demo (check_webhook_secrets).
    webhook_secret: SecretStr = SecretStr(DEMO_WEBHOOK_SECRET)
    webhook_secret_sms: SecretStr | None = None
    webhook_secret_chat: SecretStr | None = None
    webhook_secret_social: SecretStr | None = None
    webhook_secret_phone: SecretStr | None = None
    webhook_secret_staff: SecretStr | None = None
    webhook_secret_crm: SecretStr | None = None
    webhook_sms_url: str | None = None
    webhook_chat_url: str | None = None
    webhook_social_url: str | None = None
    webhook_phone_url: str | None = None
    webhook_staff_url: str | None = None
    crm_webhook_url: str | None = None
    http_timeout_s: float = 10.0

    @field_validator("smtp_starttls", mode="before")
    @classmethod
    def _starttls_booleans(cls, v: object) -> object:
        if isinstance(v, bool) or str(v).lower() in ("true", "false", "1", "0", "yes", "no"):
            return "required" if str(v).lower() in ("true", "1", "yes") else "off"
        return v

    @model_validator(mode="after")
    def _tls_pairs(self) -> Settings:
        if bool(self.temporal_tls_client_cert) != bool(self.temporal_tls_client_key):
            raise ValueError(
                "temporal_tls_client_cert and temporal_tls_client_key must be set together"
            )
        return self

    def token_pepper_value(self) -> str:
        """The pepper tokens are hashed with; ValueError (one line) when it is missing or the
        public demo pepper outside the demo."""
        from core.directory import DEMO_TOKEN_PEPPER

        pepper = self.token_pepper.get_secret_value() if self.token_pepper else None
        if self.demo:
            return pepper or DEMO_TOKEN_PEPPER
        if not pepper or pepper == DEMO_TOKEN_PEPPER:
            raise ValueError(
                "refusing to start: "
                + ("no token pepper" if not pepper else "the public demo token pepper")
                + " and ESCALATIONS_DEMO is not true; set ESCALATIONS_TOKEN_PEPPER to a secret "
                "(and hash the directory's tokens with `python -m core.directory hash-token`)"
            )
        return pepper

    def webhook_secrets(self) -> dict[str, str]:
        """The signing secret of each gateway (its own, else the shared one)."""
        out = {}
        for gateway in GATEWAYS:
            own: SecretStr | None = getattr(self, f"webhook_secret_{gateway}")
            out[gateway] = (own or self.webhook_secret).get_secret_value()
        return out

    def check_webhook_secrets(self) -> None:
        """ValueError (one line) when a gateway would be signed with the public demo secret
        outside the demo."""
        if self.demo:
            return
        demo = [g for g, secret in self.webhook_secrets().items() if secret == DEMO_WEBHOOK_SECRET]
        if demo:
            raise ValueError(
                "refusing to start: the webhooks of "
                + ", ".join(demo)
                + " would be signed with the public demo secret and ESCALATIONS_DEMO is not "
                "true; set ESCALATIONS_WEBHOOK_SECRET (or ESCALATIONS_WEBHOOK_SECRET_<GATEWAY>)"
            )

    @property
    def report_url(self) -> str:
        return self.report_db_url or f"sqlite:///{self.data_dir / 'reports.sqlite'}"

    @property
    def uses_tls(self) -> bool:
        return bool(
            self.temporal_tls
            or self.temporal_tls_client_cert
            or self.temporal_tls_server_ca
            or self.temporal_api_key
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
