"""``rapportd demo``: a generated world in the built-in sandbox (``world``), synced,
analysed, planned and written by the real daemon (``run``)."""
