"""Desk Pemilu notify service."""
