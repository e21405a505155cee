"""Use cases. Each takes a Session, may flush, and never commits."""
