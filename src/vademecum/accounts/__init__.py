"""Accounts: password hashes, sign-in sessions, API tokens and the sign-in throttle."""
