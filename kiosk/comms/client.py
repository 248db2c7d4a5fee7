"""The one way to make an MQTT client: MQTT 5, the configured credentials and TLS.

Every part of the kiosk that talks to the broker (the daemon's front end, ``kiosk ctl``,
the USB import's progress messages) builds its client here, so they all speak the same
protocol version and honour the same password and certificate settings.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from typing import Any

from kiosk.comms.config import MqttConfig, read_password

__all__ = ["connect_error", "new_client", "probe", "tls_context"]

# OpenSSL's verify messages for a CA certificate that VERIFY_X509_STRICT refuses.
_CA_FAULTS = ("key usage", "basic constraints", "invalid ca")
GOOD_CA = (
    "openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj /CN=kiosk-ca "
    "-keyout ca.key -out ca.crt "
    '-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"'
)


def _no_resolve(path: str) -> str:
    return path


def tls_context(
    cfg: MqttConfig, resolve: Callable[[str], Any] = _no_resolve
) -> ssl.SSLContext | None:
    """The TLS context for the broker, or None without TLS. Verification is always on;
    ``insecure`` only skips the host name check."""
    if not cfg.tls.enabled:
        return None
    ca = str(resolve(cfg.tls.ca)) if cfg.tls.ca else None
    try:
        ctx = ssl.create_default_context(cafile=ca)
    except (OSError, ValueError) as exc:
        raise ValueError(f"mqtt.tls.ca: cannot load {ca}: {exc}") from None
    # Python 3.13 turned these on by default; set them everywhere so a CA that 3.13 refuses
    # is refused on 3.10-3.12 too, when it is set up, not after an OS upgrade.
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN
    if cfg.tls.certfile and cfg.tls.keyfile:
        cert, key = str(resolve(cfg.tls.certfile)), str(resolve(cfg.tls.keyfile))
        try:
            ctx.load_cert_chain(cert, key)
        except (OSError, ValueError) as exc:
            raise ValueError(f"mqtt.tls.certfile/keyfile: cannot load {cert}: {exc}") from None
    if cfg.tls.insecure:
        ctx.check_hostname = False
    return ctx


def new_client(cfg: MqttConfig, client_id: str, resolve: Callable[[str], Any] = _no_resolve) -> Any:
    """A paho MQTT 5 client with ``cfg``'s user name, password and TLS, not yet connected.

    ``resolve`` turns a configured path (password file, certificates) into a real one,
    usually ``LoadedConfig.resolve``. A password without a user name is sent with an empty
    user name: MQTT 5 allows that, and paho would otherwise drop the password silently.
    Raises PasswordError, OSError (ssl.SSLError included) or ValueError for an unusable
    password or certificate; the message never contains the secret.
    """
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    password = read_password(cfg, resolve)
    if cfg.username is not None or password is not None:
        client.username_pw_set(cfg.username if cfg.username is not None else "", password)
    ctx = tls_context(cfg, resolve)
    if ctx is not None:
        client.tls_set_context(ctx)
    return client


def probe(host: str, port: int, ctx: ssl.SSLContext | None, timeout: float = 5.0) -> str:
    """Why a connection fails, in words: paho's retry loop does not say (DNS, refused,
    certificate...). Blocks up to ``timeout``: never call it on paho's network thread."""
    try:
        with socket.create_connection((host, port), timeout) as sock:
            if ctx is not None:
                with ctx.wrap_socket(sock, server_hostname=host):
                    pass
    except (OSError, ValueError) as exc:
        return connect_error(exc)
    return "connection failed"


def connect_error(exc: BaseException) -> str:
    """One line saying why connecting failed; a CA certificate that strict X.509
    verification refuses gets what is wrong with it and how to make a good one."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        why = exc.verify_message or ""
        if any(fault in why.lower() for fault in _CA_FAULTS):
            return (
                f"TLS: the broker's CA certificate (mqtt.tls.ca) is refused ({why}): it lacks "
                "the keyUsage extension or is not marked as a CA correctly; make the CA with "
                f"{GOOD_CA}"
            )
    return str(exc) or type(exc).__name__
