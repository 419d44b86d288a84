"""Test doubles shared by the tests (fake backends, stub servers)."""
