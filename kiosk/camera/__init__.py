"""camera capability."""
