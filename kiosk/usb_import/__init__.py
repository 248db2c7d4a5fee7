"""USB music import: a separate program (``kiosk import``, run by
``systemd/kiosk-import@.service`` when a stick is plugged in).

It scans the stick (``scan``), copies and checks every file (``copy_files``,
``audio_probe``) into a new version of the library and switches the live music root to it
atomically (``version_store``: the versions on disk, with ``store_fs`` for the file-system
steps). It acts as the library's owner (``privileges``), writes its progress for the staff
page (``progress``) and tells a running kiosk over MQTT (``notify``).
"""

from kiosk.exports import lazy_exports

__all__ = [
    "ImportConfig",
    "ImportResult",
    "LibraryStore",
    "Paths",
    "ProgressFile",
    "probe",
    "recover_library",
    "resolve_paths",
    "run_import",
    "run_rollback",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "ImportConfig": "config",
        "run_import": "importer",
        "run_rollback": "importer",
        "recover_library": "importer",
        "ImportResult": "result",
        "Paths": "result",
        "resolve_paths": "result",
        "LibraryStore": "version_store",
        "ProgressFile": "progress",
        "probe": "audio_probe",
    },
)
