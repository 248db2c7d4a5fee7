"""music capability."""
