#!/usr/bin/env python3
"""A ClickHouse HTTP endpoint over chdb (the ClickHouse engine as a Python library), for
switchyard's tests: chdb ships no server, so this serves the slice of ClickHouse's HTTP
interface that switchyard's ClickHouse backend and test harness use.

Owns: GET/POST `/` with the query in `query=` and/or the body, `/ping`, `default_format`,
`database`, `query_id`, `param_<name>` parameters, other URL parameters applied as settings
for the one query, ClickHouse-style errors (`Code: N. DB::Exception: ...` with ClickHouse's
HTTP status and `X-ClickHouse-Exception-Code`), streamed results (chunked, one block at a
time), and `KILL QUERY WHERE query_id = '...'` for queries it is streaming.

Never: persistent sessions, compression, data bodies for INSERT (use INSERT ... SELECT or
file()), or more than one query at a time inside chdb (one global lock; requests queue).
"""

import argparse
import http.server
import io
import re
import socket
import socketserver
import sys
import threading
import urllib.parse
import uuid

import chdb
from chdb import session as chdb_session

try:
    import pyarrow as pa
    import pyarrow.ipc as pa_ipc
except ImportError:  # ArrowStream then falls back to a buffered answer
    pa = None

# URL parameters that are part of the protocol, not settings.
PROTOCOL_PARAMS = {
    "query", "database", "default_format", "query_id", "user", "password",
    "session_id", "session_timeout", "compress", "decompress", "enable_http_compression",
    "wait_end_of_query", "buffer_size", "readonly",
}
# Formats whose streamed chunks each repeat a header of this many lines.
HEADER_LINES = {
    "TabSeparatedWithNames": 1, "TSVWithNames": 1, "CSVWithNames": 1,
    "TabSeparatedWithNamesAndTypes": 2, "TSVWithNamesAndTypes": 2,
}
# Formats whose chunks simply concatenate.
CONCATENATING = {"TabSeparated", "TSV", "CSV", "RowBinary", "JSONEachRow", "TabSeparatedRaw"}
# ClickHouse's HTTP status for an exception code (the rest are 500).
STATUS_OF_CODE = {
    62: 400, 27: 400, 36: 400, 53: 400, 70: 400, 117: 400,
    46: 404, 47: 404, 60: 404, 73: 404, 81: 404, 115: 404,
    192: 401, 193: 401, 516: 403, 159: 504, 394: 500,
}
FORMAT_CLAUSE = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)
KILL_QUERY = re.compile(r"^\s*KILL\s+QUERY\s+WHERE\s+query_id\s*=\s*'([^']*)'", re.IGNORECASE)
CODE = re.compile(r"Code:\s*(\d+)")

VERSION = "unknown"


class Engine:
    """The one chdb session, and the queries being streamed (for KILL QUERY)."""

    def __init__(self, path):
        self.session = chdb_session.Session(path)
        self.lock = threading.Lock()
        self.running = {}  # query_id -> threading.Event set to cancel
        self.settings = {}  # name -> value currently SET in the session
        self.running_lock = threading.Lock()

    def kill(self, query_id):
        with self.running_lock:
            event = self.running.get(query_id)
        if event is not None:
            event.set()
        return event is not None


def error_code(text):
    found = CODE.search(text)
    return int(found.group(1)) if found else 1002


def clean_error(text):
    # chdb wraps streamed failures ("Streaming query failed: Code: ...").
    at = text.find("Code:")
    text = text[at:] if at >= 0 else text
    if "(version" not in text:
        text = f"{text.rstrip()} (version {VERSION})"
    return text


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    engine = None

    def log_message(self, fmt, *args):  # quiet; errors still go to stderr
        pass

    def setup(self):
        super().setup()
        # Without NODELAY small answers wait for the peer's delayed ACK (~40 ms).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        self.handle_query(body=b"")

    def do_POST(self):
        length = self.headers.get("Content-Length")
        if length is not None:
            body = self.rfile.read(int(length))
        elif self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self.read_chunked()
        else:
            body = b""
        self.handle_query(body)

    def read_chunked(self):
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    # -- answers ---------------------------------------------------------------------

    def send_plain(self, status, text, headers=()):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def send_error_text(self, text, query_id):
        text = clean_error(text)
        code = error_code(text)
        self.send_plain(
            STATUS_OF_CODE.get(code, 500),
            text + "\n",
            [("X-ClickHouse-Exception-Code", str(code)), ("X-ClickHouse-Query-Id", query_id)],
        )

    def start_chunked(self, query_id, fmt):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("X-ClickHouse-Query-Id", query_id)
        self.send_header("X-ClickHouse-Format", fmt)
        self.send_header("X-ClickHouse-Timezone", "UTC")
        self.end_headers()

    def chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # -- the query -------------------------------------------------------------------

    def handle_query(self, body):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/ping":
            return self.send_plain(200, "Ok.\n")
        if url.path not in ("/", ""):
            return self.send_plain(404, "There is no handle " + url.path + "\n")
        params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        query_id = params.get("query_id") or str(uuid.uuid4())
        sql = params.get("query", "")
        text = body.decode("utf-8", "replace")
        sql = f"{sql}\n{text}" if sql and text else (sql or text)
        if not sql.strip():
            return self.send_error_text("Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)", query_id)

        killed = KILL_QUERY.match(sql)
        if killed:
            # Answered outside the chdb lock: the query to kill is holding it.
            found = self.engine.kill(killed.group(1))
            return self.send_plain(200, ("finished\n" if found else ""), [("X-ClickHouse-Query-Id", query_id)])

        clause = FORMAT_CLAUSE.search(sql)
        fmt = clause.group(1) if clause else params.get("default_format") or "TabSeparated"
        if clause:
            sql = sql[: clause.start()]
        settings = {k: v for k, v in params.items() if k not in PROTOCOL_PARAMS and not k.startswith("param_")}
        query_params = {k[len("param_"):]: v for k, v in params.items() if k.startswith("param_")}

        cancel = threading.Event()
        with self.engine.running_lock:
            self.engine.running[query_id] = cancel
        try:
            with self.engine.lock:
                self.run_locked(sql, fmt, params.get("database"), settings, query_params, query_id, cancel)
        finally:
            with self.engine.running_lock:
                self.engine.running.pop(query_id, None)

    def run_locked(self, sql, fmt, database, settings, query_params, query_id, cancel):
        session = self.engine.session
        try:
            if database:
                session.query(f"USE `{database}`", "TabSeparated")
            try:
                self.apply_settings(settings)
            except Exception as e:  # noqa: BLE001 - an unknown setting, as ClickHouse reports it
                return self.send_error_text(str(e), query_id)
            self.stream(sql, fmt, query_params, query_id, cancel)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            if database:
                session.query("USE default", "TabSeparated")

    def apply_settings(self, wanted):
        """Makes the session's settings those of this request. Settings stay set between
        requests and only changes cost a query, so a client sending the same settings
        each time (switchyard does) pays nothing for them."""
        session = self.engine.session
        current = self.engine.settings
        for name in [n for n in current if n not in wanted]:
            try:
                session.query(f"SET {name} = DEFAULT", "TabSeparated")
            except Exception:  # noqa: BLE001 - a setting without a default
                pass
            del current[name]
        for name, value in wanted.items():
            if current.get(name) != value:
                session.query(f"SET {name} = {sql_value(value)}", "TabSeparated")
                current[name] = value

    def stream(self, sql, fmt, query_params, query_id, cancel):
        session = self.engine.session
        streamable = fmt in HEADER_LINES or fmt in CONCATENATING or (fmt == "ArrowStream" and pa is not None)
        if not streamable or not looks_like_select(sql):
            try:
                result = session.query(sql, fmt, params=query_params or None)
            except Exception as e:  # noqa: BLE001 - chdb raises its own error types
                return self.send_error_text(str(e), query_id)
            data = result.bytes() if hasattr(result, "bytes") else bytes(result)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-ClickHouse-Query-Id", query_id)
            self.send_header("X-ClickHouse-Format", fmt)
            self.end_headers()
            self.wfile.write(data)
            return

        try:
            result = session.send_query(sql, fmt, params=query_params or None)
            chunks = iter(result)
            first = next(chunks, None)
            if first is None:
                # No block at all: a buffered run gives the header (schema) an empty
                # answer still needs.
                first = session.query(sql, fmt, params=query_params or None)
                chunks = iter(())
        except Exception as e:  # noqa: BLE001
            return self.send_error_text(str(e), query_id)
        self.start_chunked(query_id, fmt)
        framer = Framer(fmt)
        try:
            chunk = first
            while chunk is not None:
                if cancel.is_set():
                    result.cancel()
                    self.chunk(f"\nCode: 394. DB::Exception: Query was cancelled. (QUERY_WAS_CANCELLED) (version {VERSION})\n".encode())
                    break
                self.chunk(framer.frame(chunk.bytes() if hasattr(chunk, "bytes") else bytes(chunk)))
                self.wfile.flush()
                chunk = next(chunks, None)
            else:
                self.chunk(framer.finish())
        except (BrokenPipeError, ConnectionResetError):
            # The client went away: stop the query, as cancel_http_readonly_queries_on_client_close does.
            result.cancel()
            raise
        except Exception as e:  # noqa: BLE001 - failed mid-stream: ClickHouse appends the error
            self.chunk(("\n" + clean_error(str(e)) + "\n").encode())
        self.end_chunks()


class Framer:
    """Makes the independent outputs chdb streams per block read as one answer."""

    def __init__(self, fmt):
        self.fmt = fmt
        self.first = True
        self.writer = None
        self.sink = None

    def frame(self, data):
        if self.fmt == "ArrowStream":
            return self.arrow(data)
        skip = 0 if self.first else HEADER_LINES.get(self.fmt, 0)
        self.first = False
        for _ in range(skip):
            data = data[data.index(b"\n") + 1:]
        return data

    def arrow(self, data):
        if not data:
            return b""
        reader = pa_ipc.open_stream(data)
        if self.writer is None:
            self.sink = io.BytesIO()
            self.writer = pa_ipc.new_stream(pa.PythonFile(self.sink, mode="w"), reader.schema)
        for batch in reader:
            self.writer.write_batch(batch)
        return self.take()

    def take(self):
        data = self.sink.getvalue()
        self.sink.seek(0)
        self.sink.truncate()
        return data

    def finish(self):
        if self.writer is None:
            return b""
        self.writer.close()
        return self.take()


def looks_like_select(sql):
    head = sql.lstrip().lstrip("(").split(None, 1)
    return bool(head) and head[0].upper() in ("SELECT", "WITH")


def sql_value(value):
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global VERSION
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--path", required=True, help="chdb data directory")
    args = parser.parse_args()
    Handler.engine = Engine(args.path)
    VERSION = str(Handler.engine.session.query("SELECT version()", "TabSeparated")).strip()
    server = Server((args.host, args.port), Handler)
    print(f"chdb_http: ClickHouse {VERSION} (chdb {chdb.__version__}) on http://{args.host}:{args.port}/",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        Handler.engine.session.close()


if __name__ == "__main__":
    main()
