"""``kiosk run --simulate``: the same core on a simulated clock, for tuning the policy.

No sleeping: the clock advances by ``camera.interval_s`` per sample, the source plays once,
and every mood and playlist switch is printed as one JSON line.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from kiosk.core.events import Event
from kiosk.service.clock import SimClock

if TYPE_CHECKING:
    from kiosk.core.core import Core
    from kiosk.service.app import Daemon


def simulate(daemon: Daemon, core: Core) -> int:
    d = daemon
    t0 = d.clock.monotonic()

    def emit(event: Event) -> None:
        t = round(d.clock.monotonic() - t0, 3)
        if event.kind == "mood":
            e = event.data
            rec = {
                "t": t,
                "event": "mood",
                "mood": e["mood"],
                "confidence": e["confidence"],
                "faces": e["faces"],
                "audience": e["audience"],
            }
        else:
            e = event.data
            rec = {
                "t": t,
                "event": "switch",
                "from": e["from"],
                "to": e["to"],
                "reason": e["reason"],
            }
        d.out.write(json.dumps(rec) + "\n")
        d.out.flush()

    core.events.subscribe(emit, {"mood", "playlist"})
    core.start()
    interval = d.loaded.config.camera.interval_s
    assert isinstance(d.clock, SimClock)
    while not d.stop_requested:
        if d.duration_s is not None and d.clock.monotonic() - t0 >= d.duration_s:
            break
        if not d.loop.sample(core):
            break
        core.poll()
        d.clock.advance(interval)
    core.shutdown(0.0)
    return 0
