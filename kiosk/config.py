"""One typed configuration for the whole kiosk.

Each capability owns its section model (``kiosk/<area>/config.py``); this module composes
them, loads YAML and turns validation failures into messages that name the key, the value,
what is wrong and, where the YAML is available, the line.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, model_validator

from kiosk import PACKAGE_DIR
from kiosk.announcements.config import AnnouncementsConfig
from kiosk.camera.config import CameraConfig
from kiosk.comms.config import MqttConfig
from kiosk.history.config import HistoryConfig
from kiosk.library.config import MusicConfig
from kiosk.mood.config import MoodConfig, PolicyConfig
from kiosk.player.config import PlayerConfig
from kiosk.service.config import ServiceConfig
from kiosk.settings_base import Section
from kiosk.usb_import.config import ImportConfig
from kiosk.vision.config import VisionConfig
from kiosk.web.config import WebConfig

# Where relative paths in a config resolve when no config file is given: the checkout root,
# which holds models/ and music/.
DEFAULT_BASE_DIR = PACKAGE_DIR.parent


class KioskConfig(Section):
    """Root of config.yaml. Every section is optional and has working defaults."""

    camera: CameraConfig = Field(default_factory=CameraConfig, description="Frame source.")
    vision: VisionConfig = Field(
        default_factory=VisionConfig, description="Face detector, emotion model, runtime."
    )
    mood: MoodConfig = Field(default_factory=MoodConfig, description="Crowd mood window.")
    policy: PolicyConfig = Field(
        default_factory=PolicyConfig, description="Mood to playlist mapping, schedule."
    )
    music: MusicConfig = Field(default_factory=MusicConfig, description="Music library.")
    player: PlayerConfig = Field(default_factory=PlayerConfig, description="Audio player.")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="MQTT front end.")
    service: ServiceConfig = Field(
        default_factory=ServiceConfig, description="Daemon, logging, state."
    )
    usb_import: ImportConfig = Field(
        default_factory=ImportConfig, description="Music import from USB sticks."
    )
    history: HistoryConfig = Field(
        default_factory=HistoryConfig, description="Local history for `kiosk report`."
    )
    announcements: AnnouncementsConfig = Field(
        default_factory=AnnouncementsConfig, description="Recorded messages over the music."
    )
    web: WebConfig = Field(default_factory=WebConfig, description="Staff page on the LAN.")

    @model_validator(mode="before")
    @classmethod
    def _empty_sections(cls, data: Any) -> Any:
        # "mqtt:" with nothing under it is YAML null; treat it as "all defaults".
        if isinstance(data, dict):
            return {k: ({} if v is None else v) for k, v in data.items()}
        return data


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config plus the directory its relative paths resolve against."""

    config: KioskConfig
    base_dir: Path
    path: Path | None

    def resolve(self, p: str | os.PathLike[str]) -> Path:
        """Resolve a path from the config.

        Absolute paths stay. Relative ones join the config file's directory; when nothing
        exists there but the path exists in the kiosk's own directory (where ``models/``
        ships), that one is used, so a config that leaves the defaults alone works from
        anywhere.
        """
        path = Path(os.path.expanduser(os.fspath(p)))
        if path.is_absolute():
            return path
        primary = self.base_dir / path
        if primary.exists():
            return primary
        for home in kiosk_dirs():
            if home != self.base_dir and (home / path).exists():
                return home / path
        return primary


def kiosk_dirs() -> list[Path]:
    """Where the kiosk's own files (``models/``) ship, most specific first.

    The checkout root, and for an installed kiosk the folder that holds its venv
    (scripts/install.sh puts ``/opt/kiosk/models`` beside ``/opt/kiosk/venv``), so the
    installed config can leave the models to the package defaults.
    """
    dirs = [DEFAULT_BASE_DIR]
    if sys.prefix != sys.base_prefix:  # a venv, not the system's Python
        dirs.append(Path(sys.prefix).parent)
    return dirs


class ConfigError(Exception):
    """A config that cannot be used. ``problems`` holds one readable line per fault."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))

    def __str__(self) -> str:
        lines = [f"invalid config {self.source}:"] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Walk the composed YAML tree along a pydantic error location to find its line."""
    best = None
    for key in loc:
        if node is None:
            break
        best = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if k.value == str(key):
                    best = k.start_mark.line + 1
                    nxt = v
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            node = node.value[key] if key < len(node.value) else None
        else:
            node = None
    return best


def _describe(err: dict[str, Any], root: yaml.Node | None) -> str:
    from kiosk.errors import UNKNOWN_KEY, describe_error

    line_of = (lambda loc: _line_of(root, loc)) if root is not None else None
    return describe_error(err, "(top level)", UNKNOWN_KEY, show_input=True, line_of=line_of)


def parse_config(data: Any, source: str = "<config>", root: yaml.Node | None = None) -> KioskConfig:
    """Validate a mapping into ``KioskConfig`` or raise ``ConfigError``."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            source, [f"top level must be a mapping of sections, got {type(data).__name__}"]
        )
    try:
        return KioskConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, [_describe(e, root) for e in exc.errors()]) from None


def load_config(path: str | os.PathLike[str] | None = None) -> LoadedConfig:
    """Load and validate a YAML config. ``None`` gives the built-in defaults."""
    if path is None:
        return LoadedConfig(KioskConfig(), DEFAULT_BASE_DIR, None)
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(p), [f"cannot read file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise ConfigError(str(p), ["file is not UTF-8 text"]) from None
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" [line {mark.line + 1}, column {mark.column + 1}]" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(str(p), [f"YAML syntax error: {problem}{where}"]) from None
    cfg = parse_config(data, str(p), root)
    return LoadedConfig(cfg, p.resolve().parent, p.resolve())
