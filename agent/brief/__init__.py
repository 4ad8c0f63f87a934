"""Meeting briefs: before a meeting with people outside the owner's organisation, what the
owner should remember about them (issue 19).

- :mod:`.model`: the frozen values of a brief (attendees, facts with their evidence, topics,
  one thing to say or ask);
- :mod:`.build`: the pure builder, from a :class:`~rapportd.agent.suggest.snapshot.Snapshot`;
- :mod:`.load`: the edge that reads the store (and adds links into the owner's mailbox);
- :mod:`.text`: the brief as plain text (the prep hold's description, the terminal).
"""
