"""The cache's reply parser (tracetrack.cache.HiredisParser): a pooled connection with
nothing to read is judged by the OS's poll, not by redis-py's `select.poll` (gevent's, when
patched); anything readable is judged by redis-py as before."""

import time

import pytest
import redis
from django.conf import settings
from redis._parsers import hiredis

from tests.servers import redis_server
from tracetrack.cache import HiredisParser


class _NoPoll:
    """Stands in for the select module redis-py's parser calls: any use fails the test."""

    POLLIN = 1

    def poll(self):
        raise AssertionError("redis-py's poll was called")


@pytest.fixture(scope="module")
def url():
    with redis_server() as (server_url, _process):
        yield server_url


def _connection(url):
    pool = redis.ConnectionPool.from_url(url, parser_class=HiredisParser)
    connection = pool.get_connection()
    return pool, connection


def test_an_idle_connection_is_clean_without_redis_pys_poll(url, monkeypatch):
    pool, connection = _connection(url)
    try:
        assert isinstance(connection._parser, HiredisParser)
        monkeypatch.setattr(hiredis, "select", _NoPoll())
        assert connection.can_read() is False
    finally:
        pool.disconnect()


def test_a_reply_left_unread_is_seen_and_judged_by_redis_py(url, monkeypatch):
    pool, connection = _connection(url)
    try:
        connection.send_command("PING")
        deadline = time.monotonic() + 5
        calls = []
        real = hiredis._socket_can_read

        def counted(sock, timeout):
            calls.append(timeout)
            return real(sock, timeout)

        monkeypatch.setattr(hiredis, "_socket_can_read", counted)
        while not connection.can_read() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert connection.can_read() is True
        assert calls, "redis-py's own check ran once the OS said readable"
        assert connection.read_response() == b"PONG"  # left intact for whoever reads it
    finally:
        pool.disconnect()


def test_a_connection_the_server_closed_is_still_refused(url):
    pool, connection = _connection(url)
    try:
        connection.send_command("CLIENT", "ID")
        own = connection.read_response()
        assert connection.can_read() is False
        redis.Redis.from_url(url).client_kill_filter(_id=own)
        deadline = time.monotonic() + 5
        with pytest.raises(redis.ConnectionError):
            while time.monotonic() < deadline:
                connection.can_read()  # readable once the close arrives: then refused
                time.sleep(0.01)
    finally:
        pool.disconnect()


@pytest.mark.skipif(not settings.REDIS_URL, reason="the cache is Redis only with REDIS_URL")
def test_the_cache_uses_it():
    from django.core.cache import cache

    client = cache.client.get_client(write=True)
    assert client.connection_pool.connection_kwargs["parser_class"] is HiredisParser
