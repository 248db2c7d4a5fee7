"""mood capability."""
