"""`paperflow demo`: the whole pipeline on a bundled sample site served on 127.0.0.1.

The site (`flows/demo_site/`) holds Hugging Face day, week and month pages that list the same
papers several times. The demo serves it over real HTTP (with ETag / Last-Modified, so a second
run gets 304s), runs the real Prefect flow against it, imports the bundled sample captures,
and prints what landed and one example query.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import TextIO

from flows.settings import Settings

SITE = resources.files("flows").joinpath("demo_site")


def site_pages() -> dict[str, bytes]:
    """URL path -> body of every page of the bundled site."""
    manifest = json.loads(SITE.joinpath("manifest.json").read_text(encoding="utf-8"))
    return {path: SITE.joinpath(file).read_bytes() for path, file in manifest.items()}


def sample_files() -> list[Path]:
    """The bundled real text captures (Scholar Feed, HF search, abstract-only)."""
    folder = SITE.joinpath("samples")
    return sorted(
        Path(str(folder.joinpath(p.name))) for p in folder.iterdir() if p.name.endswith(".txt")
    )


class _Handler(BaseHTTPRequestHandler):
    pages: dict[str, bytes] = {}
    stamp = formatdate(1_778_000_000, usegmt=True)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        body = self.pages.get(path)
        if body is None:
            self.send_error(404)
            return
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        for name, value in (
            ("Content-Type", "text/html; charset=utf-8"),
            ("ETag", etag),
            ("Last-Modified", self.stamp),
            ("Content-Length", str(len(body))),
        ):
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Silence per-request logging: the demo prints its own summary."""


@contextmanager
def serve_site(pages: dict[str, bytes], port: int = 0) -> Iterator[str]:
    """Serve `pages` on 127.0.0.1 in a background thread; yields the base URL."""
    handler = type("DemoHandler", (_Handler,), {"pages": pages})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run_demo(settings: Settings, db_path: Path, *, port: int, out: TextIO) -> int:
    """Serve the sample site, ingest it, import the sample captures, show what landed."""
    from flows.cli import new_run_id
    from flows.commands import format_rows
    from flows.ingest import import_pages, ingest
    from flows.report import summary_lines
    from warehouse.db import load_sql
    from warehouse.query import run_named

    settings = replace(settings, db_path=db_path)
    pages = site_pages()
    paths = [p for p in pages if p.startswith("/papers/")]
    out.write(f"paperflow demo — warehouse {db_path}\n\n")
    with serve_site(pages, port) as base:
        urls = [base + p for p in paths]
        out.write(f"1. ingest: {len(urls)} Hugging Face pages from the sample site at {base}\n")
        result = ingest(
            "hf-papers", "hf-papers-html", urls, base, new_run_id(), settings, {"demo": True}
        )
        out.write("\n".join(summary_lines(result)) + "\n\n")
    files = sample_files()
    out.write(f"2. import: {len(files)} saved captures ({', '.join(f.name for f in files)})\n")
    result = import_pages(files, None, None, new_run_id(), settings, {"demo": True})
    out.write("\n".join(summary_lines(result)) + "\n\n")
    counts = run_named(db_path, "status_counts.sql")
    out.write("3. what landed\n" + format_rows(counts.columns, counts.rows, "table") + "\n\n")
    top = run_named(db_path, "example_top_papers.sql")
    query = load_sql("example_top_papers.sql").strip()
    out.write("4. example query:\n   " + query.replace("\n", "\n   ") + "\n")
    out.write(format_rows(top.columns, top.rows, "table") + "\n\n")
    hint = 'sql "SELECT * FROM papers LIMIT 5"'  # a shell hint for the reader, not a query
    out.write(f"Try: .venv/bin/paperflow --db {db_path} {hint}\n")
    return 0
