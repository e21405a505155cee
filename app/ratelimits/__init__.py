"""Rate limits shared by every web process on every machine (database or Redis)."""
