"""SWE-bench: instances, per-instance environments, official-style evaluation, the harness."""
