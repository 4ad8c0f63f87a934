"""Pure inference over stored records: no I/O, no provider types, no imports of
``rapportd.connectors`` or ``rapportd.jobs``. Every result carries its reasons."""
