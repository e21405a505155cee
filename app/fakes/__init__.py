"""Stand-ins for outside services (APNs) for development, tests and benchmarks."""
