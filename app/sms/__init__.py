"""Phone access by SMS: a provider's webhooks in, its REST API out, through a durable outbox.

An SMS participant is an anonymous participant like any other; this package only carries their
texts to and from the domain. The phone number is personal data: stored as a keyed hash (to
recognise the sender) and, while something may still have to be sent, encrypted.
"""
