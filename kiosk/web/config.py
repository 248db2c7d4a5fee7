"""Config of the staff page (``web:``)."""

from __future__ import annotations

from pydantic import Field, model_validator

from kiosk.settings_base import Section


class WebConfig(Section):
    """Staff page on the shop's LAN (off by default)."""

    enabled: bool = Field(
        False,
        description="Serve the staff page (mood, now playing, skip, block, volume...). "
        "Needs password_file.",
    )
    host: str = Field(
        "0.0.0.0",
        min_length=1,
        description="Address to listen on: 0.0.0.0 for every network, or one address of "
        "this machine (e.g. the shop LAN's), or 127.0.0.1 for this machine only.",
    )
    port: int = Field(8080, ge=1, le=65535, description="TCP port of the page.")
    password_file: str = Field(
        "/etc/kiosk/web-password",
        min_length=1,
        description="Lines 'staff:<hash>' and/or 'operator:<hash>' made by `kiosk web "
        "passwd` (a plain password after 'role:' also works and is hashed at load). "
        "staff: skip within the limit, block, volume; operator: everything. Keep it mode 600.",
    )
    tls_certfile: str | None = Field(
        None, description="TLS certificate (PEM) to serve https; null: plain http."
    )
    tls_keyfile: str | None = Field(None, description="TLS private key (PEM) for tls_certfile.")
    session_hours: float = Field(
        12.0, gt=0, le=24 * 31, description="A login lasts this long (then log in again)."
    )
    login_attempts_per_minute: int = Field(
        5,
        ge=1,
        le=100,
        description="Failed logins allowed per minute from one address (4x that from all "
        "together); more are refused for a while.",
    )

    @model_validator(mode="after")
    def _pair(self) -> WebConfig:
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("tls_certfile and tls_keyfile go together")
        return self
