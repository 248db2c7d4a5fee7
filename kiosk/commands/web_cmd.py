"""``kiosk web passwd``: set the staff page's password for a role."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import tempfile
from pathlib import Path

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
MIN_LENGTH = 8


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("web", help="staff page helpers")
    wsub = p.add_subparsers(dest="web_action", metavar="ACTION", required=True)
    pw = wsub.add_parser(
        "passwd",
        help="set the password of a role (staff or operator) in web.password_file",
        description="Stores a scrypt hash, never the password. Other roles' lines are kept. "
        "The running kiosk picks the change up at the next login.",
    )
    pw.add_argument("--role", choices=("staff", "operator"), default="staff")
    pw.add_argument("--config", "-c", default=None, help="config.yaml (for web.password_file)")
    pw.add_argument("--file", default=None, help="password file (overrides the config)")
    pw.add_argument(
        "--stdin", action="store_true", help="read the password from the first line of stdin"
    )
    pw.set_defaults(func=_passwd)


def _read_password(use_stdin: bool) -> str | None:
    if use_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        print(
            "kiosk web passwd: no terminal to ask for the password on; "
            "pipe it in with --stdin (e.g. `echo 'PASSWORD' | kiosk web passwd --stdin`)",
            file=sys.stderr,
        )
        return None
    try:
        first = getpass.getpass("new password: ")
        again = getpass.getpass("again: ")
    except (EOFError, KeyboardInterrupt):
        print("\nkiosk web passwd: no password given; nothing changed", file=sys.stderr)
        return None
    if again != first:
        print("kiosk web passwd: the two passwords differ", file=sys.stderr)
        return None
    return first


def _passwd(args: argparse.Namespace) -> int:
    from kiosk.web.auth import hash_password

    if args.file:
        path = Path(args.file)
    else:
        from kiosk.commands._common import load_or_exit

        loaded = load_or_exit(args)
        path = loaded.resolve(loaded.config.web.password_file)
    password = _read_password(args.stdin)
    if password is None:
        return EXIT_USAGE
    if len(password) < MIN_LENGTH or len(password) > 1024:
        print(f"kiosk web passwd: use {MIN_LENGTH} to 1024 characters", file=sys.stderr)
        return EXIT_USAGE
    try:
        old = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        # A file that exists keeps its owner, group and mode: root rewriting the service's
        # password file must leave it readable by the service.
        keep = path.stat() if path.exists() else None
    except (OSError, UnicodeDecodeError) as exc:
        print(f"kiosk web passwd: cannot read {path}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    lines = [ln for ln in old if not ln.strip().startswith(f"{args.role}:")]
    lines.append(f"{args.role}:{hash_password(password)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".web-password-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:  # mkstemp makes it mode 600
            f.write("\n".join(lines) + "\n")
            f.flush()
            os.fsync(f.fileno())
            if keep is not None:
                os.fchmod(f.fileno(), keep.st_mode & 0o7777)
                if os.geteuid() == 0:
                    os.fchown(f.fileno(), keep.st_uid, keep.st_gid)
        os.replace(tmp, path)
    except OSError as exc:
        print(f"kiosk web passwd: cannot write {path}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    print(f"{args.role} password set in {path}")
    return EXIT_OK
