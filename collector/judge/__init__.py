"""The judge: what echo type a completion is.

``classifier`` holds the pure rules and their thresholds (no model, no torch); ``judge`` embeds a
batch of completions with the probe model's own hidden states and applies the rules. New judges
(encoders, fitted parameter files) live here beside them: a judge is one module that exposes its
``ENTRY`` and one line in :mod:`collector.judge.registry`.
"""
