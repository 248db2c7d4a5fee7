"""Config for the MQTT front end."""

from __future__ import annotations

import os
import re
import socket

from pydantic import Field, SecretStr, field_validator, model_validator

from kiosk.settings_base import Section

# Kiosk ids and group names become topic levels and Home Assistant node ids, which only
# allow these characters.
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Topic levels the kiosk uses for fan-out; a kiosk with one of these ids would shadow them.
RESERVED_IDS = frozenset({"all", "group"})


def sanitise_id(raw: str) -> str:
    """A hostname (or anything) turned into a valid kiosk id: ``Shop 12.local`` → ``shop-12``."""
    base = raw.split(".")[0].strip().lower()
    clean = re.sub(r"[^a-z0-9_-]+", "-", base).strip("-")[:64] or "kiosk"
    return f"kiosk-{clean}"[:64] if clean in RESERVED_IDS else clean


def _check_name(v: str, what: str) -> str:
    if not NAME_RE.match(v):
        raise ValueError(f"{what} may only use letters, digits, '-' and '_' (1-64 characters)")
    return v


def _check_topic_root(v: str) -> str:
    if not v or v.startswith("/") or v.endswith("/") or "//" in v:
        raise ValueError("must be a non-empty topic without leading/trailing or double '/'")
    if any(c in v for c in "+#\x00"):
        raise ValueError("must not contain MQTT wildcards ('+', '#') or NUL")
    return v


class TlsConfig(Section):
    """TLS to the broker. Certificates are verified unless ``insecure`` is set."""

    enabled: bool = Field(False, description="Connect with TLS (usually port 8883).")
    ca: str | None = Field(
        None, description="CA certificate file (PEM). null: the system's trusted CAs."
    )
    certfile: str | None = Field(
        None, description="Client certificate (PEM) for certificate authentication."
    )
    keyfile: str | None = Field(None, description="Private key (PEM) for certfile.")
    insecure: bool = Field(
        False,
        description=(
            "Skip the server host name check. Only for testing with a self-signed certificate; "
            "never in a shop."
        ),
    )

    @model_validator(mode="after")
    def _cert_and_key(self) -> TlsConfig:
        if (self.certfile is None) != (self.keyfile is None):
            raise ValueError("tls.certfile and tls.keyfile must be given together")
        return self


class MqttConfig(Section):
    """MQTT client: state, mood and stats out; commands in; Home Assistant discovery."""

    enabled: bool = Field(
        False, description="Connect to a broker. Off by default so the demo needs no broker."
    )
    host: str = Field("localhost", min_length=1, description="Broker host name or address.")
    port: int = Field(1883, ge=1, le=65535, description="Broker port (TLS usually 8883).")
    keepalive_s: int = Field(
        30, ge=5, le=3600, description="MQTT keepalive; the Last Will fires after ~1.5x this."
    )
    client_id: str | None = Field(
        None, max_length=128, description="MQTT client id. null: 'kiosk-<kiosk_id>'."
    )
    username: str | None = Field(None, description="Broker user name (null: anonymous).")
    password_file: str | None = Field(
        None, description="File holding the broker password (first line). Preferred."
    )
    password_env: str | None = Field(
        None, description="Environment variable holding the broker password."
    )
    password: SecretStr | None = Field(
        None,
        description=(
            "Plain password in this file. Discouraged: use password_file or password_env. "
            "It is never logged or shown."
        ),
    )
    tls: TlsConfig = Field(default_factory=TlsConfig, description="TLS settings.")
    topic_prefix: str = Field("kiosk", description="First topic level(s) of every kiosk topic.")
    kiosk_id: str | None = Field(
        None,
        description="This kiosk's id in topics. null: the host name, lower case, sanitised.",
    )
    groups: list[str] = Field(
        default_factory=list,
        description="Groups this kiosk obeys commands for: <prefix>/group/<name>/cmd/<command>.",
    )
    stats_interval_s: float = Field(
        60.0, gt=0, le=86400, description="Seconds between stats messages."
    )
    mood_interval_s: float = Field(
        30.0,
        gt=0,
        le=86400,
        description="Seconds between periodic mood messages (a change is sent at once).",
    )
    outbox_path: str | None = Field(
        None,
        min_length=1,
        description=(
            "SQLite file that keeps stats and mood messages while the broker is unreachable; "
            "survives restarts. null: mqtt-outbox.sqlite in the service state directory."
        ),
    )
    outbox_max_messages: int = Field(
        10000,
        ge=10,
        le=10_000_000,
        description="Bound of the outbox; beyond it the oldest messages are dropped and counted.",
    )
    rate_limit_per_s: float = Field(
        2.0, gt=0, le=1000, description="Commands accepted per second (sustained)."
    )
    rate_limit_burst: int = Field(
        10, ge=1, le=10000, description="Commands accepted in a burst above the sustained rate."
    )
    max_payload_bytes: int = Field(
        4096, ge=64, le=1_048_576, description="Larger command payloads are refused."
    )
    reconnect_min_s: int = Field(
        1, ge=1, le=600, description="First reconnect delay (s); it doubles up to the maximum."
    )
    reconnect_max_s: int = Field(60, ge=1, le=3600, description="Longest reconnect delay (s).")
    discovery: bool = Field(
        True, description="Publish Home Assistant MQTT discovery (when MQTT is enabled)."
    )
    discovery_prefix: str = Field("homeassistant", description="Home Assistant discovery prefix.")

    @field_validator("topic_prefix", "discovery_prefix")
    @classmethod
    def _topic_root(cls, v: str) -> str:
        return _check_topic_root(v)

    @field_validator("kiosk_id")
    @classmethod
    def _kiosk_id(cls, v: str | None) -> str | None:
        if v is None:
            return v
        _check_name(v, "kiosk_id")
        if v in RESERVED_IDS:
            raise ValueError(f"'{v}' is reserved for fan-out topics; pick another id")
        return v

    @field_validator("groups")
    @classmethod
    def _groups(cls, v: list[str]) -> list[str]:
        for g in v:
            _check_name(g, "group names")
        return list(dict.fromkeys(v))

    @model_validator(mode="after")
    def _one_password_source(self) -> MqttConfig:
        given = [n for n in ("password", "password_file", "password_env") if getattr(self, n)]
        if len(given) > 1:
            raise ValueError(f"give only one of {', '.join(given)}")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        return self

    def effective_kiosk_id(self) -> str:
        return self.kiosk_id or sanitise_id(socket.gethostname())

    def effective_client_id(self) -> str:
        return self.client_id or f"kiosk-{self.effective_kiosk_id()}"


class PasswordError(Exception):
    """The configured password source cannot be read (message never contains the secret)."""


def read_password(cfg: MqttConfig, resolve=lambda p: p) -> str | None:
    """The broker password from the configured source, or None for none."""
    if cfg.password is not None:
        return cfg.password.get_secret_value()
    if cfg.password_env:
        value = os.environ.get(cfg.password_env)
        if value is None:
            raise PasswordError(f"mqtt.password_env: environment variable {cfg.password_env} unset")
        return value
    if cfg.password_file:
        path = resolve(cfg.password_file)
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise PasswordError(f"mqtt.password_file: cannot read {path}: {reason}") from None
        lines = text.splitlines()
        return lines[0] if lines else ""
    return None
