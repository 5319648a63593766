"""Another Redis database on the broker's server, in the broker URL's own spelling: TCP URLs
name it in the path, kombu's socket URLs as the virtual host (an embedded Redis listens on a
socket, so scratch runs and test stacks beside one need both)."""

import pytest

from genroute.runtime.queueing import broker_database, redis_url, with_broker_database


@pytest.mark.parametrize(
    ("broker_url", "database", "seventh"),
    [
        ("redis://127.0.0.1:6379/15", 15, "redis://127.0.0.1:6379/7"),
        ("redis://127.0.0.1:6379", 0, "redis://127.0.0.1:6379/7"),
        ("redis://:pw@host:1/2?ssl_cert_reqs=none", 2, "redis://:pw@host:1/7?ssl_cert_reqs=none"),
        ("redis+socket:///run/r.sock", 0, "redis+socket:///run/r.sock?virtual_host=7"),
        (
            "redis+socket:///run/r.sock?virtual_host=3",
            3,
            "redis+socket:///run/r.sock?virtual_host=7",
        ),
    ],
)
def test_another_database_on_the_same_server(broker_url: str, database: int, seventh: str) -> None:
    assert broker_database(broker_url) == database
    assert with_broker_database(broker_url, 7) == seventh
    assert broker_database(seventh) == 7


def test_a_socket_database_reaches_redis_py_as_its_db() -> None:
    assert (
        redis_url(with_broker_database("redis+socket:///run/r.sock", 4))
        == "unix:///run/r.sock?db=4"
    )
