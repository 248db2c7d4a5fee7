"""service capability."""
