"""Real-server harness for the production adapters' tests (see README.md)."""
