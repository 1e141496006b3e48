"""A real S3 API for the tests: moto's server on a loopback port (``moto[server]``, a dev
dependency), reached by continuo through s3fs exactly as it reaches AWS.

The server runs in a thread of the test process (one per pytest-xdist worker); the continuo
processes the tests start reach it through ``AWS_ENDPOINT_URL`` in their environment.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

__all__ = ["S3", "s3", "s3_server"]


@dataclass
class S3:
    """The server, a client of it, and the environment that points a process at it."""

    endpoint: str
    env: dict[str, str]
    client: Any

    def new_bucket(self) -> str:
        """A new empty bucket; returns ``s3://NAME``."""
        name = f"continuo-{uuid.uuid4().hex[:12]}"
        self.client.create_bucket(Bucket=name)
        return f"s3://{name}"

    def keys(self, url: str) -> list[str]:
        """The object keys under ``url`` (``s3://bucket/prefix``), relative to it, sorted."""
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        prefix = prefix.rstrip("/") + "/" if prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"][len(prefix) :] for page in pages for o in page.get("Contents", []))

    def put(self, url: str, data: bytes) -> None:
        bucket, _, key = url.removeprefix("s3://").partition("/")
        self.client.put_object(Bucket=bucket, Key=key, Body=data)

    def get(self, url: str) -> bytes:
        bucket, _, key = url.removeprefix("s3://").partition("/")
        return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()

    def process_env(self, **extra: str) -> dict[str, str]:
        """The environment of a continuo process that talks to this server."""
        return {**os.environ, **self.env, **extra}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3]:
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "continuo-tests",
        "AWS_SECRET_ACCESS_KEY": "continuo-tests",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "2",
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield S3(endpoint, env, boto3.client("s3", endpoint_url=endpoint))
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def s3(s3_server: S3) -> S3:
    return s3_server
