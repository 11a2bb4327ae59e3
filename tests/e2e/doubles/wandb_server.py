"""A double of the Weights & Biases API server (/work/shared/reference/wandb.md).

    python3 -m tests.e2e.doubles.wandb_server --port 0 --state DIR --api-key KEY
        [--entity double-user] [--team NAME ...] [--crash-after 300]

Endpoints and the reference facts each one enforces:
- Every call but the signed upload URLs needs `Authorization: Basic
  base64("api:" + KEY)`, else 401.
- Bodies over 10 MiB -> 413 (the ~10 MiB per request limit). Request bodies are
  standard JSON: a bare NaN in the body itself is invalid -> 400.
- POST /graphql, {"operationName", "query", "variables"}; GraphQL errors come as
  {"errors": [{"message"}], "data": null}, with HTTP 400 for bad variables.
  * UpsertBucket: variables are strings or null (debug a bool, tags a list of
    strings: sending tags replaces them); `config` is a JSON *string* of an object
    whose top-level values are all objects with a "value" key; `summaryMetrics` a
    JSON string of an object; run name without `: ; , # ? / '`. Null entity ->
    the user's entity; entities other than the user's and --team ones -> 404.
    Null project -> "uncategorized". Null fields leave stored values unchanged.
    Answers bucket{id name displayName ... project{name entity{name}}
    historyLineCount} and `inserted`.
  * CreateRunFiles (entity, project, run, files): uploadHeaders ("Key:Value") and
    files{name uploadUrl}; the URL points at this double, /_upload/<token>/<name>.
  * Viewer: the user's entity.
- PUT /_upload/<token>/<name> (signed URL): an Authorization header -> 400 (a signed
  URL is the only credential), unknown token or missing/different upload header ->
  403; the bytes are stored (state: run.uploads[name] = {size, sha256}).
- POST /files/{entity}/{project}/{run}/file_stream: unknown run -> 404. Per file an
  `offset` (line index, int >= 0) and `content` (list of strings); an offset past
  the current line count -> 400; lines at an existing offset are overwritten (so a
  retry is idempotent). wandb-history.jsonl and wandb-events.jsonl lines must be
  JSON objects (bare NaN/Infinity allowed inside a line, as the client writes
  them); history rows need an integer `_step`, and a row whose step is lower than
  the highest accepted one is ignored (kept as a line, left out of run.history).
  wandb-summary.json: offset 0, one line, a JSON object replacing line 0.
  output.log lines are kept as strings. `uploaded` is a list of names;
  `complete: true` needs an integer `exitcode`: 0 -> "finished", else "failed".
  Answer {"exitcode": null, "limits": {}}, plus "stopped": true after /_double/stop.
  A running run with no file_stream call for --crash-after seconds shows as
  "crashed" in /_double/state, and comes back to "running" with the next call.

Control: POST /_double/stop {"stopped": true|false} (default true).
State: {"runs": {"entity/project/name": run}, "upload_tokens": {...}, "stopped"}.
"""
import base64
import json
import re
import secrets
import string
import sys
import time
import urllib.parse

from .common import (DoubleApp, HttpError, StateStore, base_argument_parser, json_response,
                     parse_basic_auth, parse_strict_json, serve, Response)

API_BODY_LIMIT = 10 * 1024 * 1024
UPLOAD_BODY_LIMIT = 256 * 1024 * 1024
FILE_STREAM_RE = re.compile(r"^/files/([^/]+)/([^/]+)/([^/]+)/file_stream$")
UPLOAD_RE = re.compile(r"^/_upload/([0-9a-f]+)/(.+)$")
FORBIDDEN_RUN_ID_CHARS = set(":;,#?/'")
DEFAULT_PROJECT = "uncategorized"
HISTORY, EVENTS, SUMMARY = "wandb-history.jsonl", "wandb-events.jsonl", "wandb-summary.json"
RUN_STATES = ("running", "finished", "failed", "crashed", "killed", "preempted", "pending")
STRING_VARIABLES = ("id", "name", "project", "entity", "groupName", "description", "displayName",
                    "notes", "commit", "config", "host", "program", "repo", "jobType", "state",
                    "sweep", "summaryMetrics")


def gql_error(status, message):
    return HttpError(status, {"errors": [{"message": message}], "data": None})


def stream_error(status, message):
    return HttpError(status, {"error": message})


def parse_line(line):
    """A history/events/summary line: a JSON object; Python's json accepts the
    bare NaN/Infinity/-Infinity tokens the client writes inside lines."""
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def parse_config(text):
    try:
        config = json.loads(text)
    except ValueError:
        raise gql_error(400, "config is not valid JSON")
    if not isinstance(config, dict):
        raise gql_error(400, "config must be a JSON object")
    for key, item in config.items():
        if not isinstance(item, dict) or "value" not in item:
            raise gql_error(400, 'config key %r must be an object {"value": ...}' % key)
    return config


def accepted_history(lines):
    """History rows the server keeps: those whose _step is not lower than the
    highest step accepted before them."""
    rows, current = [], None
    for line in lines:
        row = parse_line(line)
        if current is None or row["_step"] >= current:
            rows.append(row)
            current = row["_step"]
    return rows


class WandbApp(DoubleApp):
    def __init__(self, store, api_key, entity, teams, crash_after):
        super().__init__(store)
        self.api_key = api_key
        self.entity = entity
        self.entities = {entity, *teams}
        self.crash_after = crash_after

    @staticmethod
    def initial_state():
        return {"runs": {}, "upload_tokens": {}, "stopped": False}

    def body_limit(self, path):
        return UPLOAD_BODY_LIMIT if path.startswith("/_upload/") else API_BODY_LIMIT

    def error_body(self, path, status, message):
        if path == "/graphql":
            return {"errors": [{"message": message}], "data": None}
        return {"error": message}

    # --- routing -----------------------------------------------------------------
    def handle(self, request):
        if request.path.startswith("/_upload/"):
            return self.upload(request)
        self.check_auth(request)
        if request.path == "/graphql":
            if request.method != "POST":
                raise gql_error(405, "graphql takes POST")
            return self.graphql(request)
        match = FILE_STREAM_RE.match(request.path)
        if match:
            if request.method != "POST":
                raise stream_error(405, "file_stream takes POST")
            return self.file_stream(request, *match.groups())
        raise stream_error(404, "no such endpoint: %s" % request.path)

    def check_auth(self, request):
        credentials = parse_basic_auth(request.header("Authorization"))
        if credentials != ("api", self.api_key):
            raise HttpError(401, self.error_body(request.path, 401, "user is not logged in"),
                            {"WWW-Authenticate": 'Basic realm="wandb"'})

    def json_body(self, request, error):
        try:
            body = parse_strict_json(request.body)
        except (ValueError, UnicodeDecodeError) as e:
            raise error(400, "request body is not valid JSON: %s" % e)
        if not isinstance(body, dict):
            raise error(400, "request body must be a JSON object")
        return body

    def run(self, entity, project, name, error):
        run = self.store.data["runs"].get("%s/%s/%s" % (entity, project, name))
        if run is None:
            raise error(404, "run %s/%s/%s not found" % (entity, project, name))
        return run

    # --- GraphQL -----------------------------------------------------------------
    def graphql(self, request):
        body = self.json_body(request, gql_error)
        query, variables = body.get("query"), body.get("variables")
        if not isinstance(query, str) or not query.strip():
            raise gql_error(400, "must provide a query string")
        if variables is None:
            variables = {}
        if not isinstance(variables, dict):
            raise gql_error(400, "variables must be a JSON object")
        operation = body.get("operationName")
        if operation is None:
            found = re.match(r"\s*(?:query|mutation)\s+(\w+)", query)
            operation = found.group(1) if found else None
        handlers = {"UpsertBucket": ("upsertBucket", self.upsert_bucket),
                    "CreateRunFiles": ("createRunFiles", self.create_run_files),
                    "Viewer": ("viewer", self.viewer)}
        if operation not in handlers:
            raise gql_error(400, "unknown operation %r" % operation)
        field, handler = handlers[operation]
        if field not in query:
            raise gql_error(400, "operation %s does not select %s" % (operation, field))
        return json_response(200, {"data": {field: handler(request, variables)}})

    def viewer(self, request, variables):
        return {"id": "VXNlcjox", "entity": self.entity, "username": self.entity,
                "teams": {"edges": [{"node": {"name": t}} for t in sorted(self.entities)]}}

    def upsert_bucket(self, request, variables):
        for name in STRING_VARIABLES:
            value = variables.get(name)
            if value is not None and not isinstance(value, str):
                raise gql_error(400, "Variable $%s: String cannot represent %s" % (name, json.dumps(value)))
        if variables.get("debug") is not None and not isinstance(variables["debug"], bool):
            raise gql_error(400, "Variable $debug must be a Boolean")
        tags = variables.get("tags")
        if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
            raise gql_error(400, "Variable $tags must be a list of strings")
        config = parse_config(variables["config"]) if variables.get("config") is not None else None
        summary = None
        if variables.get("summaryMetrics") is not None:
            summary = parse_line(variables["summaryMetrics"])
            if summary is None:
                raise gql_error(400, "summaryMetrics must be a JSON object")
        if variables.get("state") is not None and variables["state"] not in RUN_STATES:
            raise gql_error(400, "unknown run state %r" % variables["state"])
        entity = variables.get("entity") or self.entity
        if entity not in self.entities:
            raise gql_error(404, "entity %s not found" % entity)
        project = variables.get("project") or DEFAULT_PROJECT
        runs = self.store.data["runs"]
        name = variables.get("name")
        if variables.get("id") is not None:
            by_id = [r for r in runs.values() if r["id"] == variables["id"]]
            if not by_id:
                raise gql_error(404, "run with id %s not found" % variables["id"])
            entity, project, name = by_id[0]["entity"], by_id[0]["project"], by_id[0]["name"]
        if name is None:
            name = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))
        if not name or FORBIDDEN_RUN_ID_CHARS & set(name):
            raise gql_error(400, "invalid run name %r: it may not contain : ; , # ? / '" % name)
        key = "%s/%s/%s" % (entity, project, name)
        run = runs.get(key)
        inserted = run is None
        now = time.time()
        if inserted:
            run_id = base64.b64encode(("Run:v1:%s:%s:%s" % (name, project, entity)).encode()).decode()
            run = runs[key] = {
                "id": run_id, "entity": entity, "project": project, "name": name,
                "displayName": "double-run-%d" % (len(runs) + 1), "state": "running",
                "exitcode": None, "tags": [], "config": {}, "summaryMetrics": {},
                "created_at": now, "last_stream_at": None, "upserts": 0,
                "files": {}, "history": [], "summary": None, "uploads": {}, "uploaded": [],
                "uploaded_without_put": [], "stream_calls": 0}
        for name_ in ("displayName", "description", "notes", "groupName", "jobType", "host",
                      "program", "commit", "repo", "sweep", "state"):
            if variables.get(name_) is not None:
                run[name_] = variables[name_]
        if tags is not None:
            run["tags"] = tags
        if config is not None:
            run["config"] = config
        if summary is not None:
            run["summaryMetrics"] = summary
        run["upserts"] += 1
        run["updated_at"] = now
        return {"bucket": self.bucket(run), "inserted": inserted}

    def bucket(self, run):
        return {
            "id": run["id"], "name": run["name"], "displayName": run["displayName"],
            "description": run.get("description"), "config": json.dumps(run["config"]),
            "sweepName": run.get("sweep"), "summaryMetrics": json.dumps(run["summaryMetrics"]),
            "historyLineCount": len(run["files"].get(HISTORY, [])),
            "project": {"id": base64.b64encode(("Project:v1:%s:%s" % (run["project"], run["entity"])).encode()).decode(),
                        "name": run["project"], "entity": {"id": "RW50aXR5OjE=", "name": run["entity"]}},
        }

    def create_run_files(self, request, variables):
        for name in ("entity", "project", "run"):
            if not isinstance(variables.get(name), str) or not variables[name]:
                raise gql_error(400, "Variable $%s of type String! is required" % name)
        files = variables.get("files")
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise gql_error(400, "Variable $files must be a list of strings")
        for name in files:
            parts = name.split("/")
            if not name or name.startswith("/") or ".." in parts or "" in parts or "\0" in name:
                raise gql_error(400, "invalid file name %r" % name)
        run = self.run(variables["entity"], variables["project"], variables["run"], gql_error)
        signature = secrets.token_hex(8)
        headers = ["Content-Type:application/octet-stream", "X-Double-Signature:" + signature]
        answer = []
        for name in files:
            token = secrets.token_hex(16)
            self.store.data["upload_tokens"][token] = {
                "run": "%s/%s/%s" % (run["entity"], run["project"], run["name"]),
                "name": name, "headers": headers}
            url = "%s/_upload/%s/%s" % (request.base_url, token, urllib.parse.quote(name))
            answer.append({"name": name, "uploadUrl": url})
        return {"runID": run["id"], "uploadHeaders": headers, "files": answer}

    # --- signed uploads ------------------------------------------------------------
    def upload(self, request):
        if request.method != "PUT":
            raise stream_error(405, "upload URLs take PUT")
        if request.header("Authorization") is not None:
            raise stream_error(400, "a signed URL request must not carry an Authorization header")
        match = UPLOAD_RE.match(request.path)
        grant = self.store.data["upload_tokens"].get(match.group(1)) if match else None
        if grant is None or grant["name"] != match.group(2):
            raise stream_error(403, "SignatureDoesNotMatch: unknown upload URL")
        for header in grant["headers"]:
            name, _, value = header.partition(":")
            if (request.header(name) or "").strip() != value.strip():
                raise stream_error(403, "SignatureDoesNotMatch: header %s must be %r" % (name, value))
        run = self.store.data["runs"][grant["run"]]
        digest = self.store.put_blob(request.body)
        run["uploads"][grant["name"]] = {"size": len(request.body), "sha256": digest, "time": time.time()}
        return Response(200)

    # --- file_stream ---------------------------------------------------------------
    def file_stream(self, request, entity, project, name):
        body = self.json_body(request, stream_error)
        run = self.run(entity, project, name, stream_error)
        files = body.get("files", {})
        if files is None:
            files = {}
        if not isinstance(files, dict):
            raise stream_error(400, "files must be an object")
        for fname, chunk in files.items():
            self.check_chunk(run, fname, chunk)
        uploaded = body.get("uploaded", [])
        if uploaded is None:
            uploaded = []
        if not isinstance(uploaded, list) or not all(isinstance(u, str) for u in uploaded):
            raise stream_error(400, "uploaded must be a list of file names")
        complete, exitcode = body.get("complete"), body.get("exitcode")
        if complete is not None and not isinstance(complete, bool):
            raise stream_error(400, "complete must be a boolean")
        if exitcode is not None and (not isinstance(exitcode, int) or isinstance(exitcode, bool)):
            raise stream_error(400, "exitcode must be an integer")
        if complete and exitcode is None:
            raise stream_error(400, "complete needs an exitcode")
        # Everything checked: apply.
        for fname, chunk in files.items():
            offset, content = chunk["offset"], chunk["content"]
            if fname == SUMMARY:
                if content:
                    run["files"][SUMMARY] = [content[-1]]
                    run["summary"] = parse_line(content[-1])
                continue
            lines = run["files"].setdefault(fname, [])
            lines[offset:offset + len(content)] = content
            if fname == HISTORY:
                run["history"] = accepted_history(lines)
        for upload in uploaded:
            if upload not in run["uploaded"]:
                run["uploaded"].append(upload)
            if upload not in run["uploads"] and upload not in run["uploaded_without_put"]:
                run["uploaded_without_put"].append(upload)
        if complete:
            run["state"] = "finished" if exitcode == 0 else "failed"
            run["exitcode"] = exitcode
        run["last_stream_at"] = time.time()
        run["stream_calls"] += 1
        answer = {"exitcode": None, "limits": {}}
        if self.store.data["stopped"]:
            answer["stopped"] = True
        return json_response(200, answer)

    def check_chunk(self, run, fname, chunk):
        if not isinstance(chunk, dict):
            raise stream_error(400, "files[%s] must be an object" % fname)
        offset, content = chunk.get("offset"), chunk.get("content")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise stream_error(400, "files[%s].offset must be an integer >= 0" % fname)
        if not isinstance(content, list) or not all(isinstance(c, str) for c in content):
            raise stream_error(400, "files[%s].content must be a list of strings" % fname)
        if fname == SUMMARY:
            if offset != 0 or len(content) > 1:
                raise stream_error(400, "%s is always one line at offset 0" % SUMMARY)
        else:
            have = len(run["files"].get(fname, []))
            if offset > have:
                raise stream_error(400, "files[%s].offset %d leaves a gap: the file has %d lines"
                                   % (fname, offset, have))
        if fname in (HISTORY, EVENTS, SUMMARY):
            for index, line in enumerate(content):
                row = parse_line(line)
                if row is None:
                    raise stream_error(400, "%s line %d is not a JSON object" % (fname, offset + index))
                step = row.get("_step")
                if fname == HISTORY and (not isinstance(step, int) or isinstance(step, bool)):
                    raise stream_error(400, "%s line %d has no integer _step" % (fname, offset + index))

    # --- control and views -----------------------------------------------------------
    def control(self, request, name):
        if name == "stop" and request.method == "POST":
            payload = json.loads(request.body) if request.body else {}
            self.store.data["stopped"] = bool(payload.get("stopped", True))
            return json_response(200, {"stopped": self.store.data["stopped"]})
        return None

    def view_state(self):
        now = time.time()
        view = json.loads(json.dumps(self.store.data))
        for run in view["runs"].values():
            last = run["last_stream_at"] or run["created_at"]
            if run["state"] == "running" and now - last > self.crash_after:
                run["state"] = "crashed"
        return view


def main(argv=None):
    parser = base_argument_parser("A double of the W&B API server")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--entity", default="double-user", help="the API key's user entity")
    parser.add_argument("--team", action="append", default=[], help="another entity the user may use")
    parser.add_argument("--crash-after", type=float, default=300.0,
                        help="seconds without file_stream after which a running run shows as crashed")
    args = parser.parse_args(argv)
    store = StateStore(args.state, WandbApp.initial_state())
    app = WandbApp(store, args.api_key, args.entity, args.team, args.crash_after)
    serve(app, args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
