"""The tabs of a case view: overview, persons, notes (and others added by the caller)."""
