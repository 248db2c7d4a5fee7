"""comms capability."""
