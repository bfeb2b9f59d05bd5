"""Facts about the raw schema that several test modules check against."""

ALL_MIGRATIONS = ["0001_raw_schema", "0002_messages", "0003_semantic_variance", "0004_roles", "0005_sampler_backend",
                  "0006_reference_judge", "0007_rejudgements", "0008_labels", "0009_integrity",
                  "0010_collector_status", "0011_stopping_rule", "0012_glosses", "0013_judge_settings",
                  "0014_mean_depth_interval", "0015_judge_version", "0016_interval_z",
                  "0017_queue", "0018_queued_sessions"]
"""Every migration, in the order yoyo applies them to an empty database."""
