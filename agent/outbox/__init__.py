"""The outbox: every write into a mailbox or calendar is an ``OutboxOperation`` row.
``queue`` puts writes in it (one row per suggestion and operation); ``operations`` moves a
row through its state machine against the provider."""
