"""Suggestions: rules that turn inferences into drafts and holds, the drafting of them, the
outbox that writes them into mailboxes idempotently, and the feedback that learns from what
the person did with them. See docs/SUGGESTIONS.md.

Words used in this package:

proposal
    what a rule returns: a pure value (kind, dedupe key, evidence, reasons, who, when).
suggestion
    the stored row a proposal becomes (``Suggestion``), unique per (owner, dedupe key).
evidence
    a hash of the facts a proposal rests on. A dismissed suggestion comes back only when
    a rule proposes it again with different evidence.
tag
    rapportd's id on the written item, derived from (owner, dedupe key, evidence).
op
    one ``OutboxOperation`` row: a single write (create/update/delete a draft, create,
    confirm or delete a hold) with its state machine.
"""
