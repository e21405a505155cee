"""The worker: consumes the task queue and holds the APNs connections."""
