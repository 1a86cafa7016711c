"""Desk Pemilu access: the registry of agencies and their API keys, kept as events in the log."""
