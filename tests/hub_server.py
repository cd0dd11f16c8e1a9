"""A small Hugging Face Hub stand-in for tests: the real `huggingface_hub` client pushes to and pulls from it on loopback.

It implements only what huggingface_hub 2.4.0 uses for a model repo: create, validate-yaml, preupload (every file
"regular", so contents travel base64 in the commit), commit (NDJSON), model info with and without a revision, tree
listing, HEAD/GET resolve with `X-Repo-Commit` and `ETag`. Repos live in memory with their full commit history, so
an old commit stays servable byte for byte. `mode` switches behaviour for failure tests: "normal", "hang" (accept
connections, never answer), "hang_files" (answer the API, never send a file) and "not_found" (every repo is missing).
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

COMMIT_HASH_LENGTH = 40


def git_blob_id(content: bytes) -> str:
    """The git object id of a file, which the Hub uses as the ETag of a regular (non-LFS) file."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class Commit:
    sha: str
    message: str
    files: dict[str, bytes]  # path -> content, the whole tree at this commit


@dataclass
class Repo:
    repo_id: str
    private: bool = False
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)  # name -> commit sha

    def commit(self, branch: str, message: str, files: dict[str, bytes]) -> Commit:
        parent = self.branches.get(branch, "")
        tree = {path: git_blob_id(content) for path, content in sorted(files.items())}
        seed = json.dumps([self.repo_id, parent, len(self.commits), message, tree])
        commit = Commit(hashlib.sha1(seed.encode()).hexdigest(), message, files)
        self.commits[commit.sha] = commit
        self.branches[branch] = commit.sha
        return commit

    def resolve(self, revision: str) -> Commit | None:
        sha = self.branches.get(revision, revision)
        return self.commits.get(sha)


class HttpError(Exception):
    def __init__(self, status: int, error_code: str | None, message: str, headers: dict[str, str] | None = None, body: dict | None = None):
        super().__init__(message)
        self.status, self.error_code, self.headers, self.body = status, error_code, headers or {}, body or {}


class HubServer:
    """`with HubServer(tokens={"hf_x"}) as hub:` serves on http://127.0.0.1:<ephemeral port> from a thread."""

    def __init__(self, tokens: set[str] | None = None):
        self.tokens = set(tokens or ())  # accepted write tokens
        self.mode = "normal"
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request answered or hung
        self.connections: set = set()  # open client sockets, closed on stop like a server that went away
        self.lock = threading.Lock()
        self._release = threading.Event()  # set on stop: lets hung handlers close their connection
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.hub = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="hub-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> HubServer:
        self._thread.start()
        return self

    def set_mode(self, mode: str) -> None:
        """Switch behaviour; leaving "hang" lets the hung requests go (their connections close unanswered)."""
        self._release.set()
        self._release = threading.Event()
        self.mode = mode

    def stop(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self.lock:
            for connection in self.connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._thread.join(timeout=10)

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- state ------------------------------------------------------------------------------------------------

    def repo(self, repo_id: str, token: str | None) -> Repo:
        repo = None if self.mode == "not_found" else self.repos.get(repo_id)
        if repo is None or (repo.private and token not in self.tokens):
            raise HttpError(404 if token else 401, "RepoNotFound", "Repository not found")
        return repo

    def commit_of(self, repo: Repo, revision: str) -> Commit:
        commit = repo.resolve(revision)
        if commit is None:
            raise HttpError(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return commit

    def check_write(self, token: str | None) -> None:
        if token not in self.tokens:
            raise HttpError(401, None, "Invalid credentials in Authorization header")

    # -- endpoints --------------------------------------------------------------------------------------------

    def create_repo(self, body: dict, token: str | None) -> dict:
        self.check_write(token)
        if body.get("type", "model") != "model":
            raise HttpError(400, None, "only model repos are served here")
        repo_id = f"{body['organization']}/{body['name']}" if body.get("organization") else f"user/{body['name']}"
        if repo_id in self.repos:
            raise HttpError(409, None, "You already created this model repo", body={"url": f"{self.url}/{repo_id}"})
        repo = Repo(repo_id, private=body.get("visibility") == "private" or bool(body.get("private")))
        repo.commit("main", "initial commit", {".gitattributes": b"*.keras filter=lfs diff=lfs merge=lfs -text\n"})
        self.repos[repo_id] = repo
        return {"url": f"{self.url}/{repo_id}", "name": repo_id, "id": repo_id}

    def validate_yaml(self, body: dict) -> tuple[int, dict]:
        content = body.get("content", "")
        if content.startswith("---"):
            try:
                yaml.safe_load(content.split("---", 2)[1])
            except yaml.YAMLError as error:
                return 400, {"errors": [{"message": str(error)}], "warnings": []}
        return 200, {"errors": [], "warnings": []}

    def preupload(self, repo: Repo, revision: str, body: dict, token: str | None) -> dict:
        self.check_write(token)
        head = self.commit_of(repo, revision)
        files = []
        for item in body["files"]:
            existing = head.files.get(item["path"])
            oid = git_blob_id(existing) if existing is not None else None
            files.append({"path": item["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": oid})
        return {"files": files, "commitOid": head.sha}

    def commit(self, repo: Repo, revision: str, ndjson: bytes, token: str | None) -> dict:
        self.check_write(token)
        if revision not in repo.branches:
            raise HttpError(400, None, f"commits go to a branch, not to {revision!r}")
        files = dict(self.commit_of(repo, revision).files)
        message = ""
        for line in ndjson.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                message = value["summary"] + ("\n\n" + value["description"] if value.get("description") else "")
                if value.get("parentCommit") not in (None, repo.branches[revision]):
                    raise HttpError(412, None, "parentCommit is not the head of the branch")
            elif key == "file" and value.get("encoding") == "base64":
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                files.pop(value["path"], None)
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                files = {p: c for p, c in files.items() if not p.startswith(prefix)}
            else:
                raise HttpError(400, None, f"operation {key!r} is not supported by this test server (LFS/xet)")
        commit = repo.commit(revision, message, files)
        return {"commitUrl": f"{self.url}/{repo.repo_id}/commit/{commit.sha}", "commitOid": commit.sha, "success": True}

    def model_info(self, repo: Repo, revision: str) -> dict:
        commit = self.commit_of(repo, revision)
        files = sorted(commit.files.items())
        siblings = [{"rfilename": path, "size": len(content), "blobId": git_blob_id(content)} for path, content in files]
        return {"id": repo.repo_id, "modelId": repo.repo_id, "author": repo.repo_id.split("/")[0], "sha": commit.sha,
                "private": repo.private, "disabled": False, "gated": False, "downloads": 0, "likes": 0, "tags": [],
                "library_name": "keras", "siblings": siblings, "lastModified": "2026-01-01T00:00:00.000Z"}

    def tree(self, repo: Repo, revision: str, folder: str, recursive: bool) -> list[dict]:
        commit = self.commit_of(repo, revision)
        prefix = folder.strip("/") + "/" if folder.strip("/") else ""
        entries, folders = [], set()
        for path, content in sorted(commit.files.items()):
            if not path.startswith(prefix):
                continue
            parts = path[len(prefix):].split("/")
            for depth in range(1, len(parts)):
                if recursive or depth == 1:
                    folders.add(prefix + "/".join(parts[:depth]))
            if recursive or len(parts) == 1:
                entries.append({"type": "file", "oid": git_blob_id(content), "size": len(content), "path": path})
        if prefix and not entries and not folders:
            raise HttpError(404, "EntryNotFound", f"{folder} does not exist at {revision}", {"X-Repo-Commit": commit.sha})
        dirs = [{"type": "directory", "oid": hashlib.sha1(d.encode()).hexdigest(), "size": 0, "path": d} for d in sorted(folders)]
        return dirs + entries

    def resolve(self, repo: Repo, revision: str, path: str) -> tuple[bytes, dict[str, str]]:
        commit = self.commit_of(repo, revision)
        headers = {"X-Repo-Commit": commit.sha}
        if path not in commit.files:
            raise HttpError(404, "EntryNotFound", f"{path} does not exist at {revision}", headers)
        content = commit.files[path]
        return content, {**headers, "ETag": f'"{git_blob_id(content)}"', "Content-Type": "application/octet-stream"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client expects; every answer carries Content-Length

    def log_message(self, format: str, *args) -> None:  # quiet: tests read `hub.requests` instead
        pass

    @property
    def hub(self) -> HubServer:
        return self.server.hub  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        with self.hub.lock:
            self.hub.connections.add(self.connection)

    def finish(self) -> None:
        with self.hub.lock:
            self.hub.connections.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        with self.hub.lock:
            self.hub.requests.append((method, url.path))
        if self.hub.mode == "hang" or (self.hub.mode == "hang_files" and "/resolve/" in url.path):
            self.hub._release.wait()  # never answer; the connection closes when the server stops
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() or None
        try:
            with self.hub.lock:
                status, payload, headers = self._route(method, url.path, parse_qs(url.query), body, token)
        except HttpError as error:
            status, headers = error.status, {**error.headers, "X-Error-Message": str(error)}
            if error.error_code:
                headers["X-Error-Code"] = error.error_code
            payload = {"error": str(error), **error.body}
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        if isinstance(payload, bytes) and method == "GET" and status == 200 and self.headers.get("Range"):
            status, data, headers = self._range(data, headers)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if not isinstance(payload, bytes):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)

    def _range(self, data: bytes, headers: dict) -> tuple[int, bytes, dict]:
        """`Range: bytes=start-[end]`, which the client sends to resume an interrupted download."""
        start, _, end = self.headers["Range"].removeprefix("bytes=").partition("-")
        last = int(end) if end else len(data) - 1
        part = data[int(start) : last + 1]
        return 206, part, {**headers, "Content-Range": f"bytes {start}-{last}/{len(data)}"}

    def _route(self, method: str, path: str, query: dict, body: bytes, token: str | None):
        hub = self.hub
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if method == "POST" and parts == ["api", "repos", "create"]:
            return 200, hub.create_repo(json.loads(body), token), {}
        if method == "GET" and parts == ["api", "agent-harnesses"]:  # the client's agent detection, once per process
            return 200, {"standardEnvVars": [], "harnesses": {}}, {}
        if method == "POST" and parts == ["api", "validate-yaml"]:
            status, payload = hub.validate_yaml(json.loads(body))
            return status, payload, {}
        if parts[:2] == ["api", "models"] and len(parts) >= 4:
            repo = hub.repo(f"{parts[2]}/{parts[3]}", token)
            action, rest = (parts[4], parts[5:]) if len(parts) > 4 else ("info", [])
            if method == "GET" and action == "info":
                return 200, hub.model_info(repo, "main"), {}
            if method == "GET" and action == "revision" and len(rest) == 1:
                return 200, hub.model_info(repo, rest[0]), {}
            if method == "GET" and action == "tree" and rest:
                recursive = query.get("recursive", ["false"])[0].lower() == "true"
                return 200, hub.tree(repo, rest[0], "/".join(rest[1:]), recursive), {}
            if method == "POST" and action == "preupload" and len(rest) == 1:
                return 200, hub.preupload(repo, rest[0], json.loads(body), token), {}
            if method == "POST" and action == "commit" and len(rest) == 1:
                return 200, hub.commit(repo, rest[0], body, token), {}
        if method in ("GET", "HEAD") and len(parts) >= 5 and parts[2] == "resolve":
            repo = hub.repo(f"{parts[0]}/{parts[1]}", token)
            content, headers = hub.resolve(repo, parts[3], "/".join(parts[4:]))
            return 200, content, headers
        raise HttpError(404, None, f"{method} {path} is not implemented by the test Hub")
