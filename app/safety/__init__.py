"""Safety: risk scores, alerts and their re-sending, moderation, the supervisors' dashboard."""
