"""Accounts: anonymous participants, staff sign-in, account administration, the staff list."""
