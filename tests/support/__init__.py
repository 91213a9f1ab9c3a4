"""Test support: fakes, builders and a subprocess wrapper for the local runtime."""
