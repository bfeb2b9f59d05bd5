"""phoebe, the lab's PostgreSQL server (or the embedded one): everything that touches the database.

``dsn`` resolves and masks connection strings, ``connect`` picks the configured server or starts
the embedded one (``embedded``), ``store`` is all SQL access (named queries in
``sql/queries.sql``), ``journal`` keeps runs on disk while the server is away, ``liveness`` tells a
running session from a stale one, ``refresh`` rebuilds the dbt marts.
"""
