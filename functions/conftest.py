"""Shared fixtures for the functions' tests: one moto server per test session, on 127.0.0.1.

The handlers create their clients with plain ``boto3``; ``aws`` points every client at the server
through ``AWS_ENDPOINT_URL`` (honoured by boto3 itself), so no handler carries a test hook.
"""

from __future__ import annotations

pytest_plugins = ["tests.moto_fixtures"]
