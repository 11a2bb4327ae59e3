"""A double of the MLflow tracking server's REST API (/work/shared/reference/mlflow.md,
after mlflow/server/handlers.py, mlflow/utils/validation.py and the SQL store).

    python3 -m tests.e2e.doubles.mlflow_server --port 0 --state DIR
        [--username U --password P] [--token T]
        [--param-value-limit 6000] [--tag-value-limit 8000]

Errors are {"error_code": "...", "message": "..."}: INVALID_PARAMETER_VALUE and
RESOURCE_ALREADY_EXISTS -> 400, RESOURCE_DOES_NOT_EXIST and ENDPOINT_NOT_FOUND ->
404, UNAUTHENTICATED -> 401. What each check enforces:
- Auth: with --username/--password every call needs that Basic header, with
  --token `Authorization: Bearer T` (with both, either is accepted); else 401.
- POST bodies need `Content-Type: application/json` (MLflow's
  _validate_content_type) and must be standard JSON objects: a bare NaN token is
  invalid JSON -> 400.
- experiments/get-by-name (GET ?experiment_name=): missing -> 404; a deleted
  experiment is returned with lifecycle_stage "deleted". experiments/create:
  name a non-empty string of at most 500 chars; existing name (deleted ones too)
  -> 400 RESOURCE_ALREADY_EXISTS. "Default" (id "0") exists from the start.
- runs/create: experiment_id a string naming an experiment (else 404), which must
  be active (else 400); start_time an integer (ms); tags [{key, value}] checked
  like log-batch tags; run_name and an `mlflow.runName` tag must agree. Answers
  run.info with status RUNNING and artifact_uri
  mlflow-artifacts:/{experiment_id}/{run_id}/artifacts.
- runs/log-batch: body at most 1,000,000 bytes; run_id required and matching
  ^[a-zA-Z0-9][\\w\\-]{0,255}$; metrics need key, value, timestamp; params and
  tags need key. Metric values are numbers or the strings "NaN", "Infinity",
  "-Infinity"; timestamp and step integers (int64; numeric strings accepted as in
  proto3 JSON), timestamp >= 0. Keys: at most 250 chars matching ^[/\\w.\\- ]*$
  (the reference's pattern: recent servers also take ':', old ones do not), not
  resolving to another path (no '..', no leading '/', no '//' or trailing '/').
  Param values at most 6000 chars, tag values 8000. At most 1000 metrics, 100
  params, 100 tags, 1000 in all. No key twice among the params of one batch. Unknown
  run -> 404. A param already logged with a different value -> 400 (same value is
  fine). Metrics are stored in order of arrival, de-duplicated on (key,
  timestamp, step, value) like the SQL store's primary key: a re-sent batch adds
  nothing. Setting the mlflow.runName tag renames the run.
- runs/update: run_id of an existing run; status RUNNING, SCHEDULED, FINISHED,
  FAILED or KILLED; end_time an integer (ms).
- runs/get (GET ?run_id=), metrics/get-history (GET ?run_id=&metric_key=): as
  the real server, non-finite values come back as "NaN"/"Infinity"/"-Infinity"
  and empty lists are left out (proto3 JSON).
- PUT/GET /api/2.0/mlflow-artifacts/artifacts/{path}: path relative, without
  '..'; the bytes are stored (state: artifacts[path] = {size, sha256}).

Control: POST /_double/experiments {"name": N, "lifecycle_stage": "deleted"|"active"}
creates the experiment (or changes its stage) and answers {"experiment_id"}.
"""
import json
import math
import posixpath
import re
import sys
import time
import uuid

from .common import (DoubleApp, HttpError, Response, StateStore, base_argument_parser,
                     json_response, parse_basic_auth, parse_strict_json, serve)

API = "/api/2.0/mlflow/"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts/"
HTTP_STATUS = {"INVALID_PARAMETER_VALUE": 400, "RESOURCE_ALREADY_EXISTS": 400,
               "BAD_REQUEST": 400, "RESOURCE_DOES_NOT_EXIST": 404, "ENDPOINT_NOT_FOUND": 404,
               "UNAUTHENTICATED": 401, "INTERNAL_ERROR": 500, "REQUEST_LIMIT_EXCEEDED": 429,
               "TEMPORARILY_UNAVAILABLE": 503}
MAX_BATCH_BYTES = 1000000
MAX_METRICS, MAX_PARAMS_TAGS, MAX_ENTITIES = 1000, 100, 1000
MAX_KEY_LENGTH, MAX_EXPERIMENT_NAME = 250, 500
RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
KEY_RE = re.compile(r"[/\w.\- ]*")
RUN_ID_RE = re.compile(r"[a-zA-Z0-9][\w\-]{0,255}")
INT64 = (-2 ** 63, 2 ** 63 - 1)


def error(code, message):
    return HttpError(HTTP_STATUS[code], {"error_code": code, "message": message})


def invalid(message):
    return error("INVALID_PARAMETER_VALUE", message)


def invalid_value(path, value, why):
    return invalid("Invalid value %s for parameter '%s' supplied: %s"
                   % (json.dumps(value), path, why))


def required(value, path):
    if value is None or value == "":
        raise invalid("Missing value for required parameter '%s'. See the API docs for more "
                      "information about request parameters." % path)
    return value


def string(value, path, default=None):
    if value is None:
        return default
    if not isinstance(value, str):
        raise invalid_value(path, value, "Hint: Value was of type '%s'." % type(value).__name__)
    return value


def int64(value, path, default=None):
    """An int64 field as proto3 JSON parsing takes it: a number with no fraction
    or a decimal string."""
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not INT64[0] <= value <= INT64[1]:
        raise invalid_value(path, value, "must be an integer (int64)")
    return value


def metric_value(value, path):
    """A double: a JSON number, or "NaN"/"Infinity"/"-Infinity" as strings.
    Stored as a float, or as that string when not finite."""
    if isinstance(value, str) and value in NON_FINITE:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid_value(path, value, "Please specify value as a valid double (64-bit "
                            "floating point); NaN and infinities as the strings \"NaN\", "
                            "\"Infinity\", \"-Infinity\"")
    try:
        value = float(value)
    except OverflowError:
        raise invalid_value(path, value, "out of the range of a double")
    if math.isinf(value):  # 1e400 parses to inf, as protobuf's float() does
        return "Infinity" if value > 0 else "-Infinity"
    return value


def check_key(name, path):
    """A metric, param or tag key (validation.py: regex, path_not_unique, length)."""
    if not KEY_RE.fullmatch(name):
        raise invalid_value(path, name, "Names may only contain alphanumerics, underscores (_), "
                            "dashes (-), periods (.), spaces ( ) and slashes (/).")
    norm = posixpath.normpath(name)
    if norm != name or norm == "." or norm.startswith("..") or norm.startswith("/"):
        raise invalid_value(path, name, "Names may be treated as files in certain cases, and "
                            "must not resolve to other names when treated as such. This name "
                            "would resolve to %r" % norm)
    if len(name) > MAX_KEY_LENGTH:
        raise invalid("'%s' exceeds the maximum length of %d characters" % (path, MAX_KEY_LENGTH))


def check_length(value, limit, path):
    if len(value) > limit:
        raise invalid("'%s' exceeds the maximum length of %d characters" % (path, limit))


def batch_limit(name, limit, length):
    if length > limit:
        raise invalid("A batch logging request can contain at most %d %s. Got %d %s. Please "
                      "split up %s across multiple requests and try again."
                      % (limit, name, length, name, name))


def sort_value(value):
    """Where a value ranks when picking the latest metric; the SQL store keeps
    NaN as 0 with an is_nan flag."""
    return {"NaN": 0.0, "Infinity": math.inf, "-Infinity": -math.inf}.get(value, value) \
        if isinstance(value, str) else value


def now_ms():
    return int(time.time() * 1000)


class MlflowApp(DoubleApp):
    def __init__(self, store, username, password, token, param_limit, tag_limit):
        super().__init__(store)
        self.basic = (username, password) if username is not None else None
        self.token = token
        self.param_limit = param_limit
        self.tag_limit = tag_limit

    @staticmethod
    def initial_state():
        state = {"experiments": {}, "runs": {}, "artifacts": {}, "next_experiment_id": 0}
        MlflowApp.add_experiment(state, "Default", "active")
        return state

    @staticmethod
    def add_experiment(state, name, stage, artifact_location=None):
        experiment_id = str(state["next_experiment_id"])
        state["next_experiment_id"] += 1
        state["experiments"][experiment_id] = {
            "experiment_id": experiment_id, "name": name, "lifecycle_stage": stage,
            "artifact_location": artifact_location or "mlflow-artifacts:/%s" % experiment_id,
            "creation_time": now_ms(), "last_update_time": now_ms(), "tags": []}
        return experiment_id

    def error_body(self, path, status, message):
        code = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 404: "RESOURCE_DOES_NOT_EXIST",
                413: "INVALID_PARAMETER_VALUE", 429: "REQUEST_LIMIT_EXCEEDED",
                503: "TEMPORARILY_UNAVAILABLE"}.get(status, "INTERNAL_ERROR")
        return {"error_code": code, "message": message}

    # --- routing -------------------------------------------------------------------
    def handle(self, request):
        self.check_auth(request)
        if request.path.startswith(ARTIFACTS):
            return self.artifact(request, request.path[len(ARTIFACTS):])
        routes = {
            ("GET", "experiments/get-by-name"): self.get_experiment_by_name,
            ("GET", "experiments/get"): self.get_experiment,
            ("POST", "experiments/create"): self.create_experiment,
            ("POST", "runs/create"): self.create_run,
            ("POST", "runs/log-batch"): self.log_batch,
            ("POST", "runs/update"): self.update_run,
            ("GET", "runs/get"): self.get_run_handler,
            ("GET", "metrics/get-history"): self.get_metric_history,
        }
        endpoint = request.path[len(API):] if request.path.startswith(API) else None
        handler = routes.get((request.method, endpoint))
        if handler is None:
            known = any(name == endpoint for _, name in routes)
            raise HttpError(405 if known else 404, {
                "error_code": "ENDPOINT_NOT_FOUND",
                "message": "No endpoint %s %s" % (request.method, request.path)})
        return json_response(200, handler(self.arguments(request)))

    def check_auth(self, request):
        header = request.header("Authorization") or ""
        if self.basic is None and self.token is None:
            return
        if self.basic is not None and parse_basic_auth(header) == self.basic:
            return
        if self.token is not None and header == "Bearer " + self.token:
            return
        scheme = "Basic" if self.basic is not None else "Bearer"
        raise HttpError(401, {"error_code": "UNAUTHENTICATED",
                              "message": "You are not authenticated. Please provide valid "
                                         "credentials."},
                        {"WWW-Authenticate": '%s realm="mlflow"' % scheme})

    def arguments(self, request):
        """The request's fields: the query string of a GET, else the JSON body."""
        if request.method == "GET" and request.query:
            return {name: values[0] for name, values in request.query.items()}
        if request.method == "POST":
            content_type = (request.header("Content-Type") or "").split(";")[0].strip()
            if not content_type:
                raise invalid("Bad Request. Content-Type header is missing.")
            if content_type != "application/json":
                raise invalid("Bad Request. Content-Type must be one of ['application/json'].")
        if not request.body:
            return {}
        if request.path == API + "runs/log-batch" and len(request.body) > MAX_BATCH_BYTES:
            raise invalid("Batched logging API requests must be at most %d bytes, got a request "
                          "of size %d." % (MAX_BATCH_BYTES, len(request.body)))
        try:
            body = parse_strict_json(request.body)
        except (ValueError, UnicodeDecodeError) as e:
            raise invalid("Malformed request body, not valid JSON: %s" % e)
        if not isinstance(body, dict):
            raise invalid("The request body must be a JSON object.")
        return body

    # --- experiments -----------------------------------------------------------------
    def experiment_json(self, experiment):
        view = dict(experiment)
        if not view["tags"]:
            del view["tags"]
        return view

    def get_experiment_by_name(self, args):
        name = string(required(args.get("experiment_name"), "experiment_name"), "experiment_name")
        for experiment in self.store.data["experiments"].values():
            if experiment["name"] == name:
                return {"experiment": self.experiment_json(experiment)}
        raise error("RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name '%s'" % name)

    def get_experiment(self, args):
        experiment_id = string(required(args.get("experiment_id"), "experiment_id"), "experiment_id")
        return {"experiment": self.experiment_json(self.experiment(experiment_id))}

    def experiment(self, experiment_id):
        experiment = self.store.data["experiments"].get(experiment_id)
        if experiment is None:
            raise error("RESOURCE_DOES_NOT_EXIST", "No Experiment with id=%s exists" % experiment_id)
        return experiment

    def create_experiment(self, args):
        name = string(required(args.get("name"), "name"), "name")
        check_length(name, MAX_EXPERIMENT_NAME, "name")
        location = string(args.get("artifact_location"), "artifact_location")
        tags = self.tag_list(args.get("tags"), "tags")
        if any(e["name"] == name for e in self.store.data["experiments"].values()):
            raise error("RESOURCE_ALREADY_EXISTS",
                        "Experiment(name=%s) already exists. Error: (raised by the double)" % name)
        experiment_id = self.add_experiment(self.store.data, name, "active", location)
        self.store.data["experiments"][experiment_id]["tags"] = [
            {"key": k, "value": v} for k, v in tags]
        return {"experiment_id": experiment_id}

    # --- runs ----------------------------------------------------------------------------
    def tag_list(self, tags, path):
        """[(key, value)] from a list of {key, value}, each checked like a run tag."""
        if tags is None:
            return []
        if not isinstance(tags, list):
            raise invalid_value(path, tags, "Hint: Value was of type '%s'." % type(tags).__name__)
        pairs = []
        for index, tag in enumerate(tags):
            where = "%s[%d]" % (path, index)
            if not isinstance(tag, dict):
                raise invalid_value(where, tag, "must be an object {key, value}")
            key = string(required(tag.get("key"), where + ".key"), where + ".key")
            value = string(tag.get("value"), where + ".value", "")
            check_key(key, where + ".key")
            check_length(value, self.tag_limit, where + ".value")
            pairs.append((key, value))
        return pairs

    def run(self, run_id):
        run = self.store.data["runs"].get(run_id)
        if run is None:
            raise error("RESOURCE_DOES_NOT_EXIST", "Run with id=%s not found" % run_id)
        return run

    def run_id(self, args):
        run_id = args.get("run_id") if args.get("run_id") is not None else args.get("run_uuid")
        return string(required(run_id, "run_id"), "run_id")

    def run_info(self, run):
        info = {name: run[name] for name in ("run_id", "run_name", "experiment_id", "user_id",
                                             "status", "start_time", "end_time",
                                             "artifact_uri", "lifecycle_stage")
                if run[name] is not None}
        info["run_uuid"] = run["run_id"]
        return info

    def run_json(self, run):
        data = {
            "metrics": [self.metric_json(m) for m in run["latest_metrics"].values()],
            "params": [{"key": k, "value": v} for k, v in run["params"].items()],
            "tags": [{"key": k, "value": v} for k, v in run["tags"].items()],
        }
        return {"info": self.run_info(run), "data": {k: v for k, v in data.items() if v},
                "inputs": {}}

    @staticmethod
    def metric_json(metric):
        return {"key": metric["key"], "value": metric["value"],
                "timestamp": metric["timestamp"], "step": metric["step"]}

    def create_run(self, args):
        experiment_id = string(required(args.get("experiment_id"), "experiment_id"), "experiment_id")
        start_time = int64(args.get("start_time"), "start_time", now_ms())
        run_name = string(args.get("run_name"), "run_name")
        user_id = string(args.get("user_id"), "user_id", "")
        tags = dict(self.tag_list(args.get("tags"), "tags"))
        experiment = self.experiment(experiment_id)
        if experiment["lifecycle_stage"] != "active":
            raise invalid("The experiment %s must be in the 'active' state. Current state is %s."
                          % (experiment_id, experiment["lifecycle_stage"]))
        tag_name = tags.get("mlflow.runName")
        if run_name and tag_name and run_name != tag_name:
            raise invalid("Both 'run_name' argument and 'mlflow.runName' tag are specified, but "
                          "with different values (run_name='%s', mlflow.runName='%s')."
                          % (run_name, tag_name))
        runs = self.store.data["runs"]
        run_name = run_name or tag_name or "double-run-%d" % (len(runs) + 1)
        tags["mlflow.runName"] = run_name
        run_id = uuid.uuid4().hex
        run = runs[run_id] = {
            "run_id": run_id, "run_name": run_name, "experiment_id": experiment_id,
            "user_id": user_id, "status": "RUNNING", "start_time": start_time, "end_time": None,
            "artifact_uri": "mlflow-artifacts:/%s/%s/artifacts" % (experiment_id, run_id),
            "lifecycle_stage": "active", "params": {}, "tags": tags, "metrics": [],
            "latest_metrics": {}}
        return {"run": self.run_json(run)}

    def update_run(self, args):
        run_id = self.run_id(args)
        status = string(args.get("status"), "status")
        if status is not None and status not in RUN_STATUSES:
            raise invalid_value("status", status, "must be one of %s" % ", ".join(RUN_STATUSES))
        end_time = int64(args.get("end_time"), "end_time")
        run_name = string(args.get("run_name"), "run_name")
        run = self.run(run_id)
        if status is not None:
            run["status"] = status
        if end_time is not None:
            run["end_time"] = end_time
        if run_name:
            run["run_name"] = run["tags"]["mlflow.runName"] = run_name
        return {"run_info": self.run_info(run)}

    def get_run_handler(self, args):
        return {"run": self.run_json(self.run(self.run_id(args)))}

    def get_metric_history(self, args):
        run_id = self.run_id(args)
        key = string(required(args.get("metric_key"), "metric_key"), "metric_key")
        run = self.run(run_id)
        metrics = [self.metric_json(m) for m in run["metrics"] if m["key"] == key]
        return {"metrics": metrics} if metrics else {}

    def log_batch(self, args):
        run_id = self.run_id(args)
        lists = {}
        for name in ("metrics", "params", "tags"):
            value = args.get(name, [])
            if not isinstance(value, list):
                raise invalid_value(name, value, "Hint: Value was of type '%s'." % type(value).__name__)
            for index, item in enumerate(value):
                if not isinstance(item, dict):
                    raise invalid_value("%s[%d]" % (name, index), item, "must be an object")
            lists[name] = value
        # Required fields, as the handler's schema checks them.
        for index, metric in enumerate(lists["metrics"]):
            for field in ("key", "value", "timestamp"):
                required(metric.get(field), "metrics[%d].%s" % (index, field))
        for name in ("params", "tags"):
            for index, item in enumerate(lists[name]):
                required(item.get("key"), "%s[%d].key" % (name, index))
        # Types, as proto parsing takes them; then validation.py's checks.
        metrics = []
        for index, metric in enumerate(lists["metrics"]):
            where = "metrics[%d]" % index
            key = string(metric["key"], where + ".key")
            value = metric_value(metric["value"], where + ".value")
            timestamp = int64(metric["timestamp"], where + ".timestamp")
            step = int64(metric.get("step"), where + ".step", 0)
            metrics.append({"key": key, "value": value, "timestamp": timestamp, "step": step})
        params = [(string(p["key"], "params[%d].key" % i), string(p.get("value"), "params[%d].value" % i, ""))
                  for i, p in enumerate(lists["params"])]
        tags = [(string(t["key"], "tags[%d].key" % i), string(t.get("value"), "tags[%d].value" % i, ""))
                for i, t in enumerate(lists["tags"])]
        if not RUN_ID_RE.fullmatch(run_id):
            raise invalid_value("run_id", run_id, "not a valid run ID")
        for index, metric in enumerate(metrics):
            check_key(metric["key"], "metrics[%d].name" % index)
            if metric["timestamp"] < 0:
                raise invalid_value("metrics[%d].timestamp" % index, metric["timestamp"],
                                    "Timestamp must be a nonnegative long (64-bit integer)")
        for index, (key, value) in enumerate(params):
            check_key(key, "params[%d].key" % index)
            check_length(value, self.param_limit, "Param value")
        for index, (key, value) in enumerate(tags):
            check_key(key, "tags[%d].key" % index)
            check_length(value, self.tag_limit, "tags[%d].value" % index)
        batch_limit("metrics", MAX_METRICS, len(metrics))
        batch_limit("params", MAX_PARAMS_TAGS, len(params))
        batch_limit("tags", MAX_PARAMS_TAGS, len(tags))
        batch_limit("metrics, params, and tags", MAX_ENTITIES, len(metrics) + len(params) + len(tags))
        keys = [key for key, _ in params]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise invalid("Duplicate parameter keys have been submitted: %s. Please ensure the "
                          "request contains only one param value per param key." % duplicates)
        run = self.run(run_id)
        if run["lifecycle_stage"] != "active":
            raise invalid("The run %s must be in the 'active' state." % run_id)
        for key, value in params:
            if key in run["params"] and run["params"][key] != value:
                raise invalid("Changing param values is not allowed. Param with key='%s' was "
                              "already logged with value='%s' for run ID='%s'. Attempted logging "
                              "new value '%s'." % (key, run["params"][key], run_id, value))
        # All checked: apply.
        run["params"].update(params)
        seen = {(m["key"], m["timestamp"], m["step"], m["value"]) for m in run["metrics"]}
        for metric in metrics:
            identity = (metric["key"], metric["timestamp"], metric["step"], metric["value"])
            if identity in seen:
                continue
            seen.add(identity)
            run["metrics"].append(metric)
            latest = run["latest_metrics"].get(metric["key"])
            rank = (metric["step"], metric["timestamp"], sort_value(metric["value"]))
            if latest is None or rank > (latest["step"], latest["timestamp"], sort_value(latest["value"])):
                run["latest_metrics"][metric["key"]] = metric
        for key, value in tags:
            run["tags"][key] = value
            if key == "mlflow.runName":
                run["run_name"] = value
        return {}

    # --- artifacts ----------------------------------------------------------------------
    def artifact(self, request, path):
        parts = path.split("/")
        if not path or path.startswith("/") or ".." in parts or "\0" in path or "\\" in path:
            raise invalid("Invalid path: %r" % path)
        artifacts = self.store.data["artifacts"]
        if request.method == "PUT":
            digest = self.store.put_blob(request.body)
            artifacts[path] = {"size": len(request.body), "sha256": digest, "time": time.time()}
            return json_response(200, {})
        if request.method == "GET":
            if path not in artifacts:
                raise error("RESOURCE_DOES_NOT_EXIST", "No artifact at %s" % path)
            with open(self.store.blob_path(artifacts[path]["sha256"]), "rb") as f:
                return Response(200, f.read(), {"Content-Type": "application/octet-stream"})
        raise HttpError(405, {"error_code": "ENDPOINT_NOT_FOUND", "message": "artifacts take PUT or GET"})

    # --- control ------------------------------------------------------------------------
    def control(self, request, name):
        if name != "experiments" or request.method != "POST":
            return None
        payload = json.loads(request.body or b"{}")
        name, stage = payload.get("name"), payload.get("lifecycle_stage", "active")
        if not isinstance(name, str) or stage not in ("active", "deleted"):
            raise ValueError('expected {"name": str, "lifecycle_stage": "active"|"deleted"}')
        for experiment in self.store.data["experiments"].values():
            if experiment["name"] == name:
                experiment["lifecycle_stage"] = stage
                return json_response(200, {"experiment_id": experiment["experiment_id"]})
        return json_response(200, {"experiment_id": self.add_experiment(self.store.data, name, stage)})


def main(argv=None):
    parser = base_argument_parser("A double of the MLflow tracking server")
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--token")
    parser.add_argument("--param-value-limit", type=int, default=6000,
                        help="6000 on recent servers, 500 or 250 on old ones")
    parser.add_argument("--tag-value-limit", type=int, default=8000)
    args = parser.parse_args(argv)
    if (args.username is None) != (args.password is None):
        parser.error("--username and --password go together")
    store = StateStore(args.state, MlflowApp.initial_state())
    app = MlflowApp(store, args.username, args.password, args.token,
                    args.param_value_limit, args.tag_value_limit)
    serve(app, args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
