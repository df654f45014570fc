"""Watching over conversations: every stored message scored, rooms and alerts kept current."""
