"""Desk Pemilu launcher: starts the whole system for a newcomer, and shared test support."""
