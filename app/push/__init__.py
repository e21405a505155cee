"""The pass-update delivery pipeline: what to push, what each answer means, counters."""
