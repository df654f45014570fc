"""Chat: who may post where, rooms, groups, the queue, messages and the message writer."""
