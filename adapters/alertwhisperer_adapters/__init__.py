"""Adapters around alertwhisperer_core: HTTP server, CLI, storage, AWS, Redis, executors."""
