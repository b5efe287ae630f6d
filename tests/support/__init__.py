"""Helpers shared by the tests that are not tests themselves (no test module imports another's)."""
