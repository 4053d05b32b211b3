"""Run history and the delivery log: what each run did, and what happened to each row.

Both are tables where the state lives (the local DuckDB state file, or the warehouse schema),
written with the acknowledgements (see ``state/``), pruned after ``history.retention_days``.
``records.py`` holds the values readers get; ``read.py`` the queries.
"""
