"""Desk Pemilu projection service."""
