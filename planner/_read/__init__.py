"""Reading scenarios and order tables, by job; :mod:`planner.read` is the entry."""
