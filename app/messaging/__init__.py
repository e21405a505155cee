"""Invites by SMS and e-mail: the tables, the gateway clients and the rules they follow."""
