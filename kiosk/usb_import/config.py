"""Config for USB music import."""

from typing import Literal

from pydantic import Field, field_validator

from kiosk.settings_base import Section

DEFAULT_EXTENSIONS = [".mp3", ".ogg", ".oga", ".opus", ".flac", ".wav", ".m4a", ".aac"]


class ImportConfig(Section):
    """Music import from a USB stick (``kiosk import``, started by udev on plug-in)."""

    music_root: str | None = Field(
        None,
        description=(
            "The live music folder that imports replace. null (recommended): music.root, "
            "the folder the daemon plays from. On the first import it becomes a symlink "
            "into library_dir and its old content becomes the first library version."
        ),
    )
    library_dir: str | None = Field(
        None,
        description=(
            "Folder for library versions, the previous version, import staging and the "
            "lock; staging inside it makes the final switch a single rename. null: "
            "'.kiosk-library' next to the music folder. Installed: /var/lib/kiosk/library."
        ),
    )
    stick_folder: str = Field(
        "kiosk-music",
        min_length=1,
        description="Folder on the stick that holds <playlist>/<files>. Sticks without it "
        "are ignored.",
    )
    manifest: str = Field(
        "SHA256SUMS",
        min_length=1,
        description="Optional checksum file inside stick_folder, in `sha256sum` format with "
        "paths relative to stick_folder. When present, any mismatch or missing file fails "
        "the whole import.",
    )
    require_manifest: bool = Field(
        False, description="Refuse sticks without a manifest (for shops that sign off music)."
    )
    mode: Literal["replace", "merge"] = Field(
        "replace",
        description="replace: the new library is exactly the stick's music. merge: the "
        "current library plus the stick's music; the stick wins when a name exists in both.",
    )
    strict: bool = Field(
        False,
        description="false: bad files (not audio, too big, odd type) are skipped and "
        "reported. true: any bad file fails the whole import.",
    )
    keep_previous: bool = Field(
        True,
        description="Keep the library that was live before the last import, for "
        "`kiosk import --rollback`. Costs disk space only for files that changed.",
    )
    extensions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EXTENSIONS),
        min_length=1,
        description="File name endings that are imported (the content is checked too).",
    )
    max_file_mb: float = Field(
        300.0, gt=0, le=100_000, description="Largest single file accepted, in MB."
    )
    max_total_mb: float = Field(
        16_000.0, gt=0, le=10_000_000, description="Largest library after the import, in MB."
    )
    max_files: int = Field(20_000, ge=1, le=1_000_000, description="Most files in one import.")
    max_depth: int = Field(
        4, ge=1, le=16, description="Deepest folder nesting below stick_folder that is read."
    )
    max_name_length: int = Field(
        120,
        ge=16,
        le=250,
        description="File and folder names are cut to this many characters, and to 255 "
        "bytes of UTF-8 (the file system limit), keeping the extension; a cut name gets "
        "~ and 6 hex digits so two long names stay two files.",
    )
    min_free_mb: float = Field(
        256.0,
        ge=0,
        le=1_000_000,
        description="Free space that must remain on the target after the copy, in MB, so "
        "logs and the system keep working.",
    )
    throttle_mb_s: float = Field(
        0.0,
        ge=0,
        le=10_000,
        description="Copy speed limit in MB/s so playback from the same SD card never "
        "stutters; 0 = no limit.",
    )
    notify_service: str = Field(
        "kiosk.service",
        description="systemd unit told to rescan (SIGHUP) after a switch; empty = nobody "
        "(the library also notices changes on its own).",
    )
    mqtt_report: bool = Field(
        True, description="Publish progress and result to <prefix>/<id>/import when MQTT is on."
    )

    @field_validator("extensions")
    @classmethod
    def _dotted_lower(cls, v: list[str]) -> list[str]:
        out = []
        for ext in v:
            e = ext.strip().lower()
            if not e or "/" in e or e in (".", ".."):
                raise ValueError(f"not a file ending: {ext!r}")
            out.append(e if e.startswith(".") else "." + e)
        return out

    @field_validator("stick_folder", "manifest")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if "/" in v or "\\" in v or v in (".", ".."):
            raise ValueError("must be a single folder or file name, without slashes")
        return v
