from tests.integration.conftest import client, stack  # noqa: F401 - shared fixtures
