"""peerchat: anonymous peer-support chat with real-time escalation to human supervisors."""

__version__ = "0.1.0"
