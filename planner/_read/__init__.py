"""Reading scenarios and order tables, one module a task; :mod:`planner.read` is the entry."""
