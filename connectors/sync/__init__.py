"""Sync one account from lease to cursor: ``account`` runs its streams, ``writer`` stores
each batch with its cursor in one transaction, ``backoff`` says when to sync next."""
