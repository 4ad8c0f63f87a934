"""The impure edge of inference: ``store`` loads one owner's mail and meetings and writes
contacts, identities and commitments back; ``analyse`` runs the pure functions of
:mod:`rapportd.agent.inference` between the two."""
