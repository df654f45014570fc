"""Privacy: deleting a participant's data on request, and the retention purge."""
