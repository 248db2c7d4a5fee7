"""The daemon's remote front ends: MQTT and the staff page, started after the core.

Both are optional: one that cannot load or start is logged and the kiosk runs without it.
A reload that changes the ``mqtt`` section swaps the MQTT client for a new one
(``restart_mqtt``) off the main loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk.config import LoadedConfig

if TYPE_CHECKING:
    from kiosk.core.core import Core
    from kiosk.core.dispatch import Dispatcher

log = logging.getLogger("kiosk.service.daemon")


class FrontEnds:
    """Starts, swaps and stops the MQTT front end and the staff page of one daemon."""

    def __init__(
        self,
        loaded: Callable[[], LoadedConfig],
        stopping: Callable[[], bool],
        simulate: bool,
        dispatcher: Callable[[], Dispatcher | None] = lambda: None,
    ) -> None:
        self._loaded = loaded
        self._dispatcher = dispatcher  # the kiosk's one dispatcher, shared by every front end
        self._stopping = stopping
        self._simulate = simulate
        self.mqtt: Any = None
        self.web: Any = None
        self._mqtt_lock = threading.Lock()
        self._mqtt_swap: threading.Thread | None = None
        self._mqtt_restart = False

    def start(self, core: Core) -> None:
        self.start_mqtt(core)
        self.start_web(core)

    def stop(self) -> None:
        self.stop_mqtt()
        self.stop_web()

    def start_mqtt(self, core: Core) -> None:
        loaded = self._loaded()
        if self._simulate or not getattr(loaded.config.mqtt, "enabled", False):
            return
        try:
            from kiosk.comms.mqtt import MqttFrontend
        except ImportError as exc:
            log.error("MQTT is enabled but its front end cannot load: %s", exc)
            return
        try:
            self.mqtt = MqttFrontend(core, loaded, self._dispatcher())
            self.mqtt.start()
        except Exception:
            log.exception("MQTT front end failed to start; the kiosk runs without it")
            self.mqtt = None

    def start_web(self, core: Core) -> None:
        loaded = self._loaded()
        if self._simulate or not loaded.config.web.enabled:
            return
        try:
            from kiosk.web.server import WebError, start_web
        except ImportError as exc:
            log.error("the staff page is enabled but cannot load: %s", exc)
            return
        try:
            self.web = start_web(core, loaded, self._dispatcher())
        except WebError as exc:
            log.error("staff page not started; the kiosk runs without it: %s", exc)
        except Exception:
            log.exception("staff page failed to start; the kiosk runs without it")

    def stop_web(self) -> None:
        if self.web is not None:
            try:
                self.web.stop()
            except Exception:
                log.exception("staff page stop failed")
        self.web = None

    def restart_mqtt(self, core: Core) -> None:
        """Swap the MQTT client for one with the new settings, off the main loop: with a
        hung broker the old client's goodbye takes seconds. The new one starts after the
        old one said ``offline``, so that message can never follow the new ``online``."""
        with self._mqtt_lock:
            self._mqtt_restart = True
            if self._mqtt_swap is None:  # a running swap picks the newest settings up
                self._mqtt_swap = threading.Thread(
                    target=self._swap_mqtt, args=(core,), name="mqtt-reload", daemon=True
                )
                self._mqtt_swap.start()

    def _swap_mqtt(self, core: Core) -> None:
        while True:
            with self._mqtt_lock:
                if not self._mqtt_restart or self._stopping():
                    self._mqtt_swap = None
                    return
                self._mqtt_restart = False
            self.stop_mqtt(join_swap=False)
            self.start_mqtt(core)

    def stop_mqtt(self, join_swap: bool = True) -> None:
        swap = self._mqtt_swap
        if join_swap and swap is not None:
            swap.join(10.0)
        if self.mqtt is not None:
            try:
                self.mqtt.stop()
            except Exception:
                log.exception("MQTT stop failed")
        self.mqtt = None
