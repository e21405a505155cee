"""Staff accounts (admin, marketer, store manager), passwords, and the audit log."""
