"""One settings object for every process (API, worker, embedded launcher).

Every field can be set from the environment with the ``ESCALATIONS_`` prefix, e.g.
``ESCALATIONS_TEMPORAL_ADDRESS=my-ns.a1b2c.tmprl.cloud:7233``. Pointing the service at another
Temporal (a cluster, Temporal Cloud) is configuration only.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"


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
    codec_cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:8233", "http://127.0.0.1:8233"],
        description=(
            "Browser origins (the Temporal Web UI) allowed to call the codec endpoint "
            "/codec/decode and /codec/encode. From the environment as JSON: "
            "ESCALATIONS_CODEC_CORS_ORIGINS='[\"https://temporal.example.com\"]'."
        ),
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

    # Policy, people, knowledge base
    demo: bool = False
    policy_path: Path = CONFIG_DIR / "policy.toml"
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
    smtp_starttls: bool = False
    smtp_use_tls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "escalations@example.invalid"
    # Idle SMTP connections kept open for the next message (activities/smtp.py); 0: a new
    # connection per message.
    smtp_keepalive_connections: int = Field(default=8, ge=0, le=100)
    webhook_secret: SecretStr = SecretStr("demo-webhook-secret")
    webhook_sms_url: str | None = None
    webhook_chat_url: str | None = None
    webhook_social_url: str | None = None
    webhook_phone_url: str | None = None
    webhook_staff_url: str | None = None
    crm_webhook_url: str | None = None
    http_timeout_s: float = 10.0

    @model_validator(mode="after")
    def _tls_pairs(self) -> Settings:
        if bool(self.temporal_tls_client_cert) != bool(self.temporal_tls_client_key):
            raise ValueError(
                "temporal_tls_client_cert and temporal_tls_client_key must be set together"
            )
        return self

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
