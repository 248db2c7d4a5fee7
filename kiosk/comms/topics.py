"""Topic names: one place that knows the layout documented in the README."""

from __future__ import annotations

from dataclasses import dataclass

RESULT = "result"


@dataclass(frozen=True)
class Topics:
    prefix: str
    kiosk_id: str
    groups: tuple[str, ...] = ()

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.kiosk_id}"

    @property
    def availability(self) -> str:
        return f"{self.base}/availability"

    @property
    def state(self) -> str:
        return f"{self.base}/state"

    @property
    def mood(self) -> str:
        return f"{self.base}/mood"

    @property
    def stats(self) -> str:
        return f"{self.base}/stats"

    @property
    def result(self) -> str:
        return f"{self.base}/cmd/{RESULT}"

    def cmd(self, name: str) -> str:
        return f"{self.base}/cmd/{name}"

    def command_filters(self) -> list[str]:
        """Subscriptions for every command topic this kiosk obeys."""
        out = [f"{self.base}/cmd/+", f"{self.prefix}/all/cmd/+"]
        out += [f"{self.prefix}/group/{g}/cmd/+" for g in self.groups]
        return out

    def command_name(self, topic: str) -> str | None:
        """The command a topic addresses to this kiosk, or None when it is not a command.

        An empty last level (``.../cmd/``) is the command ``""``: it matches ``cmd/+`` and
        gets the same "unknown command" answer as any other name. The kiosk's own
        ``cmd/result`` is not a command (no_local keeps the kiosk from hearing its results;
        a result someone else posts there is ignored, not answered)."""
        roots = [self.base, f"{self.prefix}/all"]
        roots += [f"{self.prefix}/group/{g}" for g in self.groups]
        for root in roots:
            head = f"{root}/cmd/"
            if topic.startswith(head):
                name = topic[len(head) :]
                if "/" not in name and not (root == self.base and name == RESULT):
                    return name
        return None


def target_root(prefix: str, target: str) -> str:
    """Topic root for a ``kiosk ctl`` target: a kiosk id, ``group:<name>`` or ``all``."""
    if target == "all":
        return f"{prefix}/all"
    if target.startswith("group:"):
        return f"{prefix}/group/{target[len('group:') :]}"
    return f"{prefix}/{target}"
