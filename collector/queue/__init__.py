"""The work queue (procrastinate, in the collector's PostgreSQL): ``submit`` defers one job per shard
of a session's run numbers, ``worker`` processes collect them, a periodic task refreshes the marts
and another hands the jobs of dead workers to live ones. See docs/scaling.md."""
