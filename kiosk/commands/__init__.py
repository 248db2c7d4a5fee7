"""CLI subcommands. Each module offers ``register(subparsers)`` which adds its parser and
sets ``func`` to a callable ``(args) -> int`` exit code. Heavy imports live inside ``func``
so that ``kiosk --help`` stays fast and a missing optional backend never breaks other
commands."""
