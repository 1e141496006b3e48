"""continuo.storage against a real S3 API (moto's server on loopback): versioned folders, the
cache of remote files, and the one-line errors of bad URLs."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fsspec.registry import known_implementations

from continuo import storage
from continuo.errors import StorageError
from tests.s3_fixtures import S3


def _folder(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _contents(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*") if p.is_file()
    }


def test_urls_and_local_paths() -> None:
    assert storage.is_url("s3://bucket/x") and storage.is_url("memory://x")
    assert storage.is_url("https://example.org/a.mid")
    assert not storage.is_url("runs/x") and not storage.is_url("music21:bach")
    assert not storage.is_url("file:///tmp/x")
    assert storage.fetch("file:///tmp/x") == Path("/tmp/x")
    assert storage.fetch("runs/x") == Path("runs/x")


def test_a_folder_is_published_whole_and_read_through_its_pointer(s3: S3, tmp_path: Path) -> None:
    url = s3.new_bucket() + "/data/ds"
    local = _folder(tmp_path / "ds", {"a.txt": "one", "sub/b.txt": "two"})
    storage.publish(local, url)
    (local / "a.txt").write_text("three")
    storage.publish(local, url)
    storage.publish(local, url)
    keys = s3.keys(url)
    versions = {key.split("/")[0] for key in keys if key != "CURRENT"}
    assert "CURRENT" in keys and len(versions) == 2  # the current one and the one before
    current = s3.get(url + "/CURRENT").decode()
    assert f"{current}/a.txt" in keys
    assert _contents(storage.fetch(url)) == {"a.txt": "three", "sub/b.txt": "two"}
    # a folder holding versioned folders reads as plain folders
    assert _contents(storage.fetch(url.rsplit("/", 1)[0])) == {
        "ds/a.txt": "three",
        "ds/sub/b.txt": "two",
    }


def test_a_half_uploaded_version_is_never_read_and_is_cleared(s3: S3, tmp_path: Path) -> None:
    url = s3.new_bucket() + "/ckpt"
    storage.publish(_folder(tmp_path / "ckpt", {"model.safetensors": "whole"}), url)
    # what a process killed during an upload leaves: files of a new version, the pointer as was
    half = "v20260101T000000-0badf00d"
    s3.put(f"{url}/{half}/model.safetensors", b"half")
    assert _contents(storage.fetch(url)) == {"model.safetensors": "whole"}
    storage.publish(_folder(tmp_path / "ckpt", {"model.safetensors": "next"}), url)
    assert not any(key.startswith(half) for key in s3.keys(url))
    assert _contents(storage.fetch(url)) == {"model.safetensors": "next"}


def test_the_cache_downloads_only_what_changed(s3: S3, tmp_path: Path) -> None:
    url = s3.new_bucket() + "/songs"
    for name in ("a.mid", "b.mid", "c.mid"):
        s3.put(f"{url}/{name}", name.encode())
    first = storage.fetch(url)
    assert first.name == "songs"  # pieces are named after the folder, as for a local one
    kept = (first / "a.mid").stat()
    s3.put(f"{url}/b.mid", b"changed")
    s3.client.delete_object(Bucket=url[5:].split("/")[0], Key="songs/c.mid")
    second = storage.fetch(url)
    assert second == first
    assert (second / "a.mid").stat().st_ino == kept.st_ino  # not downloaded again
    assert _contents(second) == {"a.mid": "a.mid", "b.mid": "changed"}


def test_a_mirror_publishes_each_part_as_it_is_written(s3: S3, tmp_path: Path) -> None:
    url = s3.new_bucket() + "/runs/one"
    mirror = storage.Mirror(url)
    mirror.pull()
    assert mirror.local.is_dir() and not any(mirror.local.iterdir())
    _folder(mirror.local, {"last/model.safetensors": "w", "metrics.jsonl": "{}\n"})
    mirror.push("last")
    mirror.push("metrics.jsonl")
    assert {"metrics.jsonl", "last/CURRENT"} <= set(s3.keys(url))
    (mirror.local / "metrics.jsonl").write_text("stale")
    mirror.pull()  # the local copy becomes the remote run again
    assert _contents(mirror.local) == {"last/model.safetensors": "w", "metrics.jsonl": "{}\n"}


def test_memory_urls_work_without_a_server(tmp_path: Path) -> None:
    local = _folder(tmp_path / "x", {"f.txt": "hi"})
    storage.publish(local, "memory://continuo-tests/x")
    assert _contents(storage.fetch("memory://continuo-tests/x")) == {"f.txt": "hi"}


def _missing_package_scheme() -> str | None:
    """A scheme fsspec knows whose package is not installed here (gs, az, ...)."""
    for scheme in ("gs", "az", "abfs", "hf", "oci", "webdav"):
        module = known_implementations.get(scheme, {}).get("class", "").split(".")[0]
        if module and importlib.util.find_spec(module) is None:
            return scheme
    return None


def test_bad_urls_are_one_line_errors(s3: S3) -> None:
    with pytest.raises(StorageError, match="no such file, folder or bucket"):
        storage.fetch("s3://continuo-no-such-bucket/x")
    with pytest.raises(StorageError, match="no such file or folder"):
        storage.fetch(s3.new_bucket() + "/nothing-here")
    with pytest.raises(StorageError, match="unknown URL scheme nope://"):
        storage.fetch("nope://x/y")
    with pytest.raises(StorageError, match="read-only"):
        storage.publish(Path(__file__), "https://example.org/x.py")
    scheme = _missing_package_scheme()
    assert scheme is not None, "every optional fsspec package is installed: pick another scheme"
    with pytest.raises(StorageError, match=r"install") as caught:
        storage.fetch(f"{scheme}://bucket/x")
    assert str(caught.value).startswith(f"{scheme}://bucket/x: ")
    assert "\n" not in str(caught.value)


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "continuo", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_an_unreachable_endpoint_and_refused_credentials(
    s3: S3, tmp_path: Path, melody_midi_dir: Path
) -> None:
    out = tmp_path / "dataset"
    closed = s3.process_env(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{_free_port()}", AWS_MAX_ATTEMPTS="1"
    )
    result = _cli("prepare", "s3://continuo-songs/folk", "--out", str(out), env=closed)
    assert result.returncode == 2 and not out.exists()
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("continuo: error: s3://continuo-songs/folk: ") and "connect" in line

    # a second server that checks credentials: the tests' keys are not known to it
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        strict = s3.process_env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}")
        result = _cli("prepare", str(melody_midi_dir), "--out", "s3://continuo-data/x", env=strict)
    finally:
        server.kill()
        server.wait()
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("continuo: error: s3://continuo-data/x: ") and "credentials" in line


def test_commands_fail_in_one_line_before_writing_anything(
    s3: S3, tmp_path: Path, melody_midi_dir: Path, melody_dataset: Path, capsys
) -> None:
    from continuo.cli import main

    missing = "s3://continuo-no-such-bucket"
    cases = [
        (["prepare", str(melody_midi_dir), "--out", f"{missing}/ds"], f"{missing}/ds: "),
        (["prepare", f"{missing}/songs", "--out", str(tmp_path / "ds")], f"{missing}/songs: "),
        (["train", f"{missing}/ds", "--out", str(tmp_path / "run")], f"{missing}/ds: "),
        (["train", str(melody_dataset), "--out", f"{missing}/run"], f"{missing}/run: "),
        (["generate", "--model", f"{missing}/run", "--out", str(tmp_path / "g")], f"{missing}/"),
        (["generate", "--steps", "8", "--out", f"{missing}/out.mid"], f"{missing}: "),
        (["extend", f"{missing}/a.wav", "--duration", "9", "--out", str(tmp_path / "e.wav")],
         f"{missing}/a.wav: "),
        (["prepare", str(melody_midi_dir), "--out", "https://example.org/ds"], "read-only"),
        (["generate", "--out", f"{missing}/x.txt"], "cannot write '.txt' files"),
    ]  # fmt: skip
    for argv, start in cases:
        assert main(argv) == 2, argv
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert start in line, (argv, line)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing half-written


def test_a_seed_file_over_http(tmp_path: Path, melody_midi_dir: Path, capsys) -> None:
    """``http(s)://`` names files to read: a seed served on loopback by Python's own server."""
    import functools
    import http.server
    import threading

    from continuo.cli import main

    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(melody_midi_dir)
    )
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/song000.mid"
        out = tmp_path / "out.mid"
        argv = [
            "generate",
            "--seed-file",
            url,
            "--steps",
            "16",
            "--rng-seed",
            "0",
            "--out",
            str(out),
        ]
        assert main(argv) == 0
        assert out.is_file()
        assert main(["generate", "--seed-file", url + ".missing", "--out", str(out)]) == 2
        assert "no such" in capsys.readouterr().err
    finally:
        server.shutdown()
