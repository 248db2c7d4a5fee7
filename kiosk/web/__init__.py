"""The staff page: a small web page for a phone on the shop's LAN (``web.enabled``).

Starlette on uvicorn, in one thread of the daemon. Every change goes through the same
``kiosk.core.dispatch.Dispatcher`` as MQTT, recorded as source ``web`` with the login. Live
updates are Server-Sent Events fed from the core's EventBus. Only aggregates are served:
never a frame, a face or a box.
"""

from kiosk.exports import lazy_exports

__all__ = [
    "WebConfig",
    "WebError",
    "WebServer",
    "create_app",
    "start_web",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "WebConfig": "config",
        "start_web": "server",
        "WebServer": "server",
        "WebError": "server",
        "create_app": "app",
    },
)
