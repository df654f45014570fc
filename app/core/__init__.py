"""The kernel: context, errors, events, identity, limits, audit, time and ids.

Every feature imports it; it imports no feature."""
