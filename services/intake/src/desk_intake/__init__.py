"""Desk Pemilu intake service."""
