"""Printable in-store posters whose QR code invites shoppers to join the loyalty program."""
