"""Outcomes: mood check-ins, per-conversation reports and programme insights."""
