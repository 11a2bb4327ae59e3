"""Tests of the W&B and MLflow doubles themselves: they take what the real
servers take, reject what the reference says the real servers reject, inject
faults on demand, and keep their state across a SIGKILL and a restart."""
import http.client
import json
import time
import urllib.error
import urllib.request

import pytest

from doubles import fixtures

# The doubles' fixtures, bound here so that pytest finds them in this module
# whether or not conftest.py imports them too.
wandb_double = fixtures.wandb_double
mlflow_double = fixtures.mlflow_double
mlflow_token_double = fixtures.mlflow_token_double
start_double = fixtures.start_double

API = "/api/2.0/mlflow/"


def call(double, method, path, body=None, data=None, headers=None, auth=True, timeout=10):
    """One request with urllib: (status, headers, JSON answer or raw bytes)."""
    all_headers = {}
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    if auth and double.auth_header:
        all_headers["Authorization"] = double.auth_header
    all_headers.update(headers or {})
    request = urllib.request.Request(double.url + path, data=data, method=method,
                                     headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, answer_headers, raw = answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as e:
        status, answer_headers, raw = e.code, e.headers, e.read()
    try:
        return status, answer_headers, json.loads(raw)
    except ValueError:
        return status, answer_headers, raw


# --- W&B helpers -----------------------------------------------------------------
def upsert(double, **variables):
    variables.setdefault("project", "proj")
    variables.setdefault("entity", None)
    body = {"operationName": "UpsertBucket",
            "query": "mutation UpsertBucket($name: String) { upsertBucket(input: {}) { bucket { id } } }",
            "variables": variables}
    return call(double, "POST", "/graphql", body)


def new_run(double, name="run00001", **variables):
    status, _, answer = upsert(double, name=name, **variables)
    assert status == 200, answer
    return answer["data"]["upsertBucket"]["bucket"]


def stream(double, body, run="run00001", project="proj", entity="double-user", **kw):
    return call(double, "POST", "/files/%s/%s/%s/file_stream" % (entity, project, run), body, **kw)


def history(*steps):
    return [json.dumps({"loss": 1.0 / (s + 1), "_step": s, "_runtime": s, "_timestamp": 1.7e9 + s})
            for s in steps]


def wandb_run(double, name="run00001"):
    return double.state()["runs"]["double-user/proj/" + name]


# --- MLflow helpers ----------------------------------------------------------------
def create_run(double, **fields):
    fields.setdefault("experiment_id", "0")
    status, _, answer = call(double, "POST", API + "runs/create", fields)
    assert status == 200, answer
    return answer["run"]["info"]["run_id"]


def log_batch(double, run_id, **lists):
    return call(double, "POST", API + "runs/log-batch", dict(run_id=run_id, **lists))


def metric(key="loss", value=0.5, timestamp=1718000000000, step=0):
    return {"key": key, "value": value, "timestamp": timestamp, "step": step}


# === W&B ================================================================================
def test_wandb_run_lifecycle(wandb_double):
    bucket = new_run(wandb_double, config=json.dumps({"lr": {"value": 0.001}}), tags=["a", "b"])
    assert bucket["name"] == "run00001"
    assert bucket["project"] == {"id": bucket["project"]["id"], "name": "proj",
                                 "entity": {"id": bucket["project"]["entity"]["id"],
                                            "name": "double-user"}}
    assert bucket["historyLineCount"] == 0
    status, _, answer = stream(wandb_double, {"files": {
        "wandb-history.jsonl": {"offset": 0, "content": history(0, 1)},
        "wandb-summary.json": {"offset": 0, "content": ['{"loss": 0.5, "_step": 1}']},
        "output.log": {"offset": 0, "content": ["2024-06-10T06:13:20.123456 epoch 1",
                                                "ERROR 2024-06-10T06:13:20.200000 warn"]},
        "wandb-events.jsonl": {"offset": 0, "content": ['{"system.cpu": 12.5, "_wandb": true}']}}})
    assert (status, answer) == (200, {"exitcode": None, "limits": {}})
    status, _, answer = upsert(wandb_double, name="run00001", tags=["c"])
    assert answer["data"]["upsertBucket"]["inserted"] is False
    assert answer["data"]["upsertBucket"]["bucket"]["historyLineCount"] == 2
    assert stream(wandb_double, {})[0] == 200  # a heartbeat
    assert stream(wandb_double, {"complete": True, "exitcode": 0})[0] == 200
    run = wandb_run(wandb_double)
    assert run["state"] == "finished" and run["exitcode"] == 0
    assert run["tags"] == ["c"] and run["config"] == {"lr": {"value": 0.001}}
    assert [row["_step"] for row in run["history"]] == [0, 1]
    assert run["summary"] == {"loss": 0.5, "_step": 1}
    assert run["files"]["output.log"][1].startswith("ERROR ")
    new_run(wandb_double, name="run00002")
    stream(wandb_double, {"complete": True, "exitcode": 3}, run="run00002")
    assert wandb_run(wandb_double, "run00002")["state"] == "failed"


def test_wandb_null_entity_is_the_user_and_viewer(wandb_double):
    assert new_run(wandb_double, entity=None)["project"]["entity"]["name"] == "double-user"
    body = {"operationName": "Viewer", "query": "query Viewer { viewer { entity } }"}
    status, _, answer = call(wandb_double, "POST", "/graphql", body)
    assert answer["data"]["viewer"]["entity"] == "double-user"


@pytest.mark.parametrize("header", [None, "Basic YXBpOndyb25n", "Basic " + "eDp4", "Bearer x"])
def test_wandb_auth(wandb_double, header):
    headers = {"Authorization": header} if header else {}
    viewer = {"operationName": "Viewer", "query": "query Viewer { viewer { id } }"}
    status, _, answer = call(wandb_double, "POST", "/graphql", viewer, headers=headers, auth=False)
    assert status == 401 and "errors" in answer
    status, _, answer = stream(wandb_double, {}, headers=headers, auth=False)
    assert status == 401 and "error" in answer


@pytest.mark.parametrize("variables, status", [
    ({"config": {"lr": {"value": 1}}}, 400),                 # config not a JSON string
    ({"config": json.dumps({"lr": 0.1})}, 400),              # values not {"value": ...}
    ({"config": json.dumps([1])}, 400),
    ({"config": "{not json"}, 400),
    ({"tags": "a,b"}, 400),
    ({"tags": ["a", 1]}, 400),
    ({"name": "bad/name"}, 400),
    ({"name": "bad:name"}, 400),
    ({"summaryMetrics": "[1]"}, 400),
    ({"displayName": 5}, 400),
    ({"state": "exploded"}, 400),
    ({"entity": "someone-else"}, 404),
])
def test_wandb_upsert_rejections(wandb_double, variables, status):
    variables = dict({"name": "run00001"}, **variables)
    got, _, answer = upsert(wandb_double, **variables)
    assert got == status, answer
    assert answer["errors"][0]["message"] and answer["data"] is None
    assert wandb_double.state()["runs"] == {}


@pytest.mark.parametrize("data", [b"{not json", b'{"query": NaN}', b"[1]", b'{"query": 1}',
                                  b'{"operationName": "DropDatabase", "query": "mutation DropDatabase { x }"}'])
def test_wandb_graphql_rejects_malformed_bodies(wandb_double, data):
    status, _, answer = call(wandb_double, "POST", "/graphql", data=data,
                             headers={"Content-Type": "application/json"})
    assert status == 400 and answer["errors"]


def test_wandb_file_stream_offsets_are_line_indices(wandb_double):
    new_run(wandb_double)
    lines = history(0, 1, 2)
    body = {"files": {"wandb-history.jsonl": {"offset": 0, "content": lines}}}
    assert stream(wandb_double, body)[0] == 200
    assert stream(wandb_double, body)[0] == 200  # a retry overwrites: idempotent
    assert wandb_run(wandb_double)["files"]["wandb-history.jsonl"] == lines
    gap = {"files": {"wandb-history.jsonl": {"offset": 4, "content": history(3)}}}
    status, _, answer = stream(wandb_double, gap)
    assert status == 400 and "gap" in answer["error"]
    # A row with a lower step is kept as a line but left out of the history.
    body = {"files": {"wandb-history.jsonl": {"offset": 3, "content": history(1) + history(5)}}}
    assert stream(wandb_double, body)[0] == 200
    run = wandb_run(wandb_double)
    assert len(run["files"]["wandb-history.jsonl"]) == 5
    assert [row["_step"] for row in run["history"]] == [0, 1, 2, 5]
    assert new_run(wandb_double)["historyLineCount"] == 5


def test_wandb_file_stream_accepts_nan_inside_lines(wandb_double):
    new_run(wandb_double)
    line = '{"loss": NaN, "big": Infinity, "small": -Infinity, "_step": 0}'
    assert stream(wandb_double, {"files": {"wandb-history.jsonl": {"offset": 0, "content": [line]}}})[0] == 200
    assert wandb_run(wandb_double)["history"][0]["big"] == float("inf")


@pytest.mark.parametrize("body, status", [
    ({"files": {"wandb-history.jsonl": {"offset": 0, "content": ['{"loss": 1}']}}}, 400),  # no _step
    ({"files": {"wandb-history.jsonl": {"offset": 0, "content": ['{"_step": 1.5}']}}}, 400),
    ({"files": {"wandb-history.jsonl": {"offset": 0, "content": ["not json"]}}}, 400),
    ({"files": {"wandb-events.jsonl": {"offset": 0, "content": ["[1, 2]"]}}}, 400),
    ({"files": {"wandb-summary.json": {"offset": 1, "content": ["{}"]}}}, 400),
    ({"files": {"wandb-summary.json": {"offset": 0, "content": ["{}", "{}"]}}}, 400),
    ({"files": {"output.log": {"offset": -1, "content": ["x"]}}}, 400),
    ({"files": {"output.log": {"offset": "0", "content": ["x"]}}}, 400),
    ({"files": {"output.log": {"offset": 0, "content": "x"}}}, 400),
    ({"files": {"output.log": {"offset": 0, "content": [1]}}}, 400),
    ({"files": {"output.log": {"offset": 1, "content": ["x"]}}}, 400),
    ({"files": []}, 400),
    ({"uploaded": "a.json"}, 400),
    ({"complete": True}, 400),
    ({"complete": True, "exitcode": "0"}, 400),
])
def test_wandb_file_stream_rejections(wandb_double, body, status):
    new_run(wandb_double)
    got, _, answer = stream(wandb_double, body)
    assert got == status and answer["error"]
    run = wandb_run(wandb_double)
    assert run["files"] == {} and run["state"] == "running"


def test_wandb_file_stream_unknown_run_bad_json_and_413(wandb_double):
    new_run(wandb_double)
    assert stream(wandb_double, {}, run="nosuchrun")[0] == 404
    assert stream(wandb_double, {}, project="other")[0] == 404
    path = "/files/double-user/proj/run00001/file_stream"
    bad = b'{"files": {"output.log": {"offset": 0, "content": [NaN]}}}'
    assert call(wandb_double, "POST", path, data=bad)[0] == 400
    huge = json.dumps({"files": {"output.log": {"offset": 0, "content": ["x" * (10 << 20)]}}})
    status, _, answer = call(wandb_double, "POST", path, data=huge.encode(),
                             headers={"Content-Type": "application/json"})
    assert status == 413
    assert wandb_run(wandb_double)["files"] == {}


def test_wandb_signed_uploads(wandb_double):
    new_run(wandb_double)
    body = {"operationName": "CreateRunFiles",
            "query": "mutation CreateRunFiles { createRunFiles(input: {}) { runID } }",
            "variables": {"entity": "double-user", "project": "proj", "run": "run00001",
                          "files": ["env-manifest.json", "code/diff.patch"]}}
    status, _, answer = call(wandb_double, "POST", "/graphql", body)
    assert status == 200, answer
    created = answer["data"]["createRunFiles"]
    headers = dict(h.split(":", 1) for h in created["uploadHeaders"])
    url = created["files"][0]["uploadUrl"]
    assert created["files"][0]["name"] == "env-manifest.json"
    assert url.startswith(wandb_double.url + "/_upload/")
    path = url[len(wandb_double.url):]
    data = b'{"os": "linux"}'
    # A signed URL with an Authorization header, or without the upload headers: refused.
    assert call(wandb_double, "PUT", path, data=data, headers=headers)[0] == 400
    assert call(wandb_double, "PUT", path, data=data, auth=False)[0] == 403
    assert call(wandb_double, "PUT", path.replace("env-manifest", "other"), data=data,
                headers=headers, auth=False)[0] == 403
    assert call(wandb_double, "PUT", path, data=data, headers=headers, auth=False)[0] == 200
    assert stream(wandb_double, {"uploaded": ["env-manifest.json", "never-put.json"]})[0] == 200
    run = wandb_run(wandb_double)
    assert run["uploaded"] == ["env-manifest.json", "never-put.json"]
    assert run["uploaded_without_put"] == ["never-put.json"]
    assert wandb_double.blob(run["uploads"]["env-manifest.json"]["sha256"]) == data
    puts = [r for r in wandb_double.requests() if r["method"] == "PUT"]
    assert [("authorization" in r["headers"], r["status"]) for r in puts] == \
        [(True, 400), (False, 403), (False, 403), (False, 200)]
    body["variables"]["run"] = "nosuchrun"
    assert call(wandb_double, "POST", "/graphql", body)[0] == 404


def test_wandb_stop_switch(wandb_double):
    new_run(wandb_double)
    wandb_double.stop()
    assert stream(wandb_double, {})[2] == {"exitcode": None, "limits": {}, "stopped": True}
    wandb_double.stop(False)
    assert "stopped" not in stream(wandb_double, {})[2]


def test_wandb_run_shows_crashed_without_heartbeats(start_double):
    double = start_double("wandb", "--crash-after", "1")
    new_run(double)
    time.sleep(1.5)
    assert wandb_run(double)["state"] == "crashed"
    stream(double, {})
    assert wandb_run(double)["state"] == "running"


def test_wandb_state_survives_sigkill(wandb_double):
    new_run(wandb_double, config=json.dumps({"bs": {"value": 64}}))
    stream(wandb_double, {"files": {"wandb-history.jsonl": {"offset": 0, "content": history(0, 1)}}})
    port, before = wandb_double.port, wandb_double.state()
    wandb_double.kill()
    with pytest.raises(OSError):
        stream(wandb_double, {}, timeout=2)
    wandb_double.restart()
    assert wandb_double.port == port
    assert wandb_double.state() == before
    bucket = new_run(wandb_double)
    assert bucket["historyLineCount"] == 2
    body = {"files": {"wandb-history.jsonl": {"offset": 2, "content": history(2)}}}
    assert stream(wandb_double, body)[0] == 200
    assert [r["_step"] for r in wandb_run(wandb_double)["history"]] == [0, 1, 2]
    assert len(wandb_double.requests()) == 4  # the log survives too


# === MLflow ===============================================================================
def test_mlflow_experiments(mlflow_double):
    status, _, answer = call(mlflow_double, "GET", API + "experiments/get-by-name?experiment_name=Default")
    assert status == 200 and answer["experiment"]["experiment_id"] == "0"
    assert answer["experiment"]["lifecycle_stage"] == "active"
    status, _, answer = call(mlflow_double, "GET", API + "experiments/get-by-name?experiment_name=nope")
    assert status == 404 and answer["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    status, _, answer = call(mlflow_double, "GET", API + "experiments/get-by-name")
    assert status == 400 and answer["error_code"] == "INVALID_PARAMETER_VALUE"
    status, _, answer = call(mlflow_double, "POST", API + "experiments/create", {"name": "exp"})
    assert status == 200 and answer["experiment_id"] == "1"
    status, _, answer = call(mlflow_double, "POST", API + "experiments/create", {"name": "exp"})
    assert status == 400 and answer["error_code"] == "RESOURCE_ALREADY_EXISTS"
    assert call(mlflow_double, "POST", API + "experiments/create", {"name": ""})[0] == 400
    assert call(mlflow_double, "POST", API + "experiments/create", {"name": "x" * 501})[0] == 400
    # A deleted experiment: found by name, but no runs can be created in it.
    deleted = mlflow_double.control("POST", "experiments", {"name": "old", "lifecycle_stage": "deleted"})
    status, _, answer = call(mlflow_double, "GET", API + "experiments/get-by-name?experiment_name=old")
    assert answer["experiment"]["lifecycle_stage"] == "deleted"
    status, _, answer = call(mlflow_double, "POST", API + "runs/create",
                             {"experiment_id": deleted["experiment_id"]})
    assert status == 400 and answer["error_code"] == "INVALID_PARAMETER_VALUE"
    assert call(mlflow_double, "POST", API + "experiments/create", {"name": "old"})[0] == 400
    status, _, answer = call(mlflow_double, "POST", API + "runs/create", {"experiment_id": "99"})
    assert status == 404 and answer["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_mlflow_run_lifecycle(mlflow_double):
    status, _, answer = call(mlflow_double, "POST", API + "runs/create", {
        "experiment_id": "0", "run_name": "train", "start_time": 1718000000000,
        "tags": [{"key": "mlflow.source.type", "value": "JOB"}]})
    info = answer["run"]["info"]
    run_id = info["run_id"]
    assert info["status"] == "RUNNING" and info["run_name"] == "train"
    assert info["artifact_uri"] == "mlflow-artifacts:/0/%s/artifacts" % run_id
    batch = {"metrics": [metric(step=0, value=0.9), metric(step=1, value="NaN"),
                         metric(step=2, value="Infinity"), metric(key="acc", value=1)],
             "params": [{"key": "lr", "value": "0.001"}],
             "tags": [{"key": "mlflow.note.content", "value": "hi"}]}
    for _ in range(2):
        status, _, answer = log_batch(mlflow_double, run_id, **batch)
        assert (status, answer) == (200, {})
    # The re-sent batch added nothing: (key, timestamp, step, value) is the row's identity.
    status, _, answer = call(mlflow_double, "GET", API + "metrics/get-history?run_id=%s&metric_key=loss" % run_id)
    assert [(m["step"], m["value"]) for m in answer["metrics"]] == [(0, 0.9), (1, "NaN"), (2, "Infinity")]
    log_batch(mlflow_double, run_id, metrics=[metric(step=0, value=0.8)])  # same step, new value: a new row
    status, _, answer = call(mlflow_double, "GET", API + "metrics/get-history?run_id=%s&metric_key=loss" % run_id)
    assert len(answer["metrics"]) == 4
    status, _, answer = call(mlflow_double, "GET", API + "metrics/get-history?run_id=%s&metric_key=none" % run_id)
    assert (status, answer) == (200, {})
    assert log_batch(mlflow_double, run_id, params=[{"key": "lr", "value": "0.001"}])[0] == 200
    status, _, answer = call(mlflow_double, "POST", API + "runs/update",
                             {"run_id": run_id, "status": "FINISHED", "end_time": 1718000001000})
    assert answer["run_info"]["status"] == "FINISHED" and answer["run_info"]["end_time"] == 1718000001000
    status, _, answer = call(mlflow_double, "GET", API + "runs/get?run_id=" + run_id)
    data = answer["run"]["data"]
    assert {m["key"]: m["value"] for m in data["metrics"]} == {"loss": "Infinity", "acc": 1.0}
    assert data["params"] == [{"key": "lr", "value": "0.001"}]
    assert {"key": "mlflow.runName", "value": "train"} in data["tags"]


def test_mlflow_run_create_and_update_rejections(mlflow_double):
    def create(fields):
        return call(mlflow_double, "POST", API + "runs/create", fields)[0]
    assert create({"experiment_id": 0}) == 400
    assert create({"experiment_id": "0", "start_time": "soon"}) == 400
    assert create({"experiment_id": "0", "run_name": "a",
                   "tags": [{"key": "mlflow.runName", "value": "b"}]}) == 400
    assert create({"experiment_id": "0", "tags": [{"key": "../x", "value": "b"}]}) == 400
    run_id = create_run(mlflow_double)

    def update(fields):
        status, _, answer = call(mlflow_double, "POST", API + "runs/update", fields)
        return status, answer.get("error_code")
    assert update({"run_id": run_id, "status": "DONE"}) == (400, "INVALID_PARAMETER_VALUE")
    assert update({"run_id": run_id, "end_time": 1.5}) == (400, "INVALID_PARAMETER_VALUE")
    assert update({"status": "FINISHED"}) == (400, "INVALID_PARAMETER_VALUE")
    assert update({"run_id": "f" * 32, "status": "FINISHED"}) == (404, "RESOURCE_DOES_NOT_EXIST")
    status, _, answer = call(mlflow_double, "GET", API + "runs/get?run_id=" + "f" * 32)
    assert (status, answer["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    for status_value in ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"):
        assert update({"run_id": run_id, "status": status_value})[0] == 200


BAD_BATCHES = {
    "too many metrics": lambda: {"metrics": [metric(step=i) for i in range(1001)]},
    "too many params": lambda: {"params": [{"key": "p%d" % i, "value": "v"} for i in range(101)]},
    "too many tags": lambda: {"tags": [{"key": "t%d" % i, "value": "v"} for i in range(101)]},
    "too many in all": lambda: {"metrics": [metric(step=i) for i in range(900)],
                                "params": [{"key": "p%d" % i, "value": "v"} for i in range(100)],
                                "tags": [{"key": "t0", "value": "v"}]},
    "body over 1 MB": lambda: {"tags": [{"key": "t%d" % i, "value": "v" * 8000} for i in range(100)],
                               "params": [{"key": "p%d" % i, "value": "v" * 3000} for i in range(100)]},
    "key with ..": lambda: {"metrics": [metric(key="a/../b")]},
    "absolute key": lambda: {"params": [{"key": "/abs", "value": "v"}]},
    "key with bad character": lambda: {"tags": [{"key": "bad!key", "value": "v"}]},
    "key with colon": lambda: {"metrics": [metric(key="a:b")]},
    "key of 251 chars": lambda: {"params": [{"key": "k" * 251, "value": "v"}]},
    "param value of 6001 chars": lambda: {"params": [{"key": "p", "value": "v" * 6001}]},
    "tag value of 8001 chars": lambda: {"tags": [{"key": "t", "value": "v" * 8001}]},
    "duplicate param keys": lambda: {"params": [{"key": "p", "value": "1"}, {"key": "p", "value": "1"}]},
    "value nan as lower-case string": lambda: {"metrics": [metric(value="nan")]},
    "value as numeric string": lambda: {"metrics": [metric(value="0.5")]},
    "value a boolean": lambda: {"metrics": [metric(value=True)]},
    "value missing": lambda: {"metrics": [{"key": "loss", "timestamp": 1, "step": 0}]},
    "timestamp missing": lambda: {"metrics": [{"key": "loss", "value": 1, "step": 0}]},
    "timestamp negative": lambda: {"metrics": [metric(timestamp=-1)]},
    "timestamp fractional": lambda: {"metrics": [metric(timestamp=1.5)]},
    "step not an integer": lambda: {"metrics": [metric(step="one")]},
    "metrics not a list": lambda: {"metrics": {"key": "loss"}},
    "param key missing": lambda: {"params": [{"value": "v"}]},
    "param value not a string": lambda: {"params": [{"key": "p", "value": 1}]},
}


@pytest.mark.parametrize("name", sorted(BAD_BATCHES))
def test_mlflow_log_batch_rejections(mlflow_double, name):
    run_id = create_run(mlflow_double)
    body = json.dumps(dict(run_id=run_id, **BAD_BATCHES[name]())).encode()
    if name == "body over 1 MB":
        assert len(body) > 1000000
    status, _, answer = call(mlflow_double, "POST", API + "runs/log-batch", data=body,
                             headers={"Content-Type": "application/json"})
    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), answer
    run = mlflow_double.state()["runs"][run_id]
    assert run["metrics"] == [] and run["params"] == {}


def test_mlflow_log_batch_limits_are_inclusive(mlflow_double):
    run_id = create_run(mlflow_double)
    assert log_batch(mlflow_double, run_id, metrics=[metric(step=i) for i in range(1000)])[0] == 200
    assert log_batch(mlflow_double, run_id,
                     params=[{"key": "p%d" % i, "value": "v" * 6000} for i in range(100)],
                     tags=[{"key": "t%d" % i, "value": "v"} for i in range(100)])[0] == 200


def test_mlflow_log_batch_other_rejections(mlflow_double):
    run_id = create_run(mlflow_double)
    path = API + "runs/log-batch"
    json_type = {"Content-Type": "application/json"}
    nan_body = b'{"run_id": "%s", "metrics": [{"key": "l", "value": NaN, "timestamp": 1}]}' % run_id.encode()
    status, _, answer = call(mlflow_double, "POST", path, data=nan_body, headers=json_type)
    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    status, _, answer = call(mlflow_double, "POST", path, data=b"{", headers=json_type)
    assert status == 400
    # urllib sends application/x-www-form-urlencoded by default: MLflow refuses it.
    status, _, answer = call(mlflow_double, "POST", path, data=json.dumps({"run_id": run_id}).encode())
    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    status, _, answer = log_batch(mlflow_double, "0" * 32, metrics=[metric()])
    assert (status, answer["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    status, _, answer = log_batch(mlflow_double, "../etc", metrics=[metric()])
    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert log_batch(mlflow_double, run_id, params=[{"key": "lr", "value": "1"}])[0] == 200
    status, _, answer = log_batch(mlflow_double, run_id, params=[{"key": "lr", "value": "2"}],
                                  metrics=[metric()])
    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "Changing param values is not allowed" in answer["message"]
    assert mlflow_double.state()["runs"][run_id]["metrics"] == []  # nothing of it was kept


def test_mlflow_old_server_param_limit(start_double):
    double = start_double("mlflow", "--param-value-limit", "500")
    run_id = create_run(double)
    assert log_batch(double, run_id, params=[{"key": "a", "value": "v" * 500}])[0] == 200
    assert log_batch(double, run_id, params=[{"key": "b", "value": "v" * 501}])[0] == 400


@pytest.mark.parametrize("header", [None, "Basic ZG91YmxlLXVzZXI6d3Jvbmc=", "Bearer double-token"])
def test_mlflow_basic_auth(mlflow_double, header):
    headers = {"Authorization": header} if header else {}
    for method, path in (("GET", API + "experiments/get-by-name?experiment_name=Default"),
                         ("PUT", "/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/x")):
        status, answer_headers, answer = call(mlflow_double, method, path, data=b"x" if method == "PUT" else None,
                                              headers=headers, auth=False)
        assert (status, answer["error_code"]) == (401, "UNAUTHENTICATED")
        assert answer_headers["WWW-Authenticate"].startswith("Basic")


def test_mlflow_token_auth(mlflow_token_double):
    path = API + "experiments/get-by-name?experiment_name=Default"
    assert call(mlflow_token_double, "GET", path)[0] == 200
    for header in ("Bearer wrong", "Basic ZG91YmxlLXVzZXI6ZG91YmxlLXBhc3N3b3Jk",
                   mlflow_token_double.token):
        status, _, answer = call(mlflow_token_double, "GET", path, headers={"Authorization": header},
                                 auth=False)
        assert (status, answer["error_code"]) == (401, "UNAUTHENTICATED")


def test_mlflow_artifacts(mlflow_double):
    run_id = create_run(mlflow_double)
    path = "/api/2.0/mlflow-artifacts/artifacts/0/%s/artifacts/env/manifest.json" % run_id
    assert call(mlflow_double, "PUT", path, data=b'{"a": 1}')[0] == 200
    status, _, answer = call(mlflow_double, "GET", path)
    assert (status, answer) == (200, {"a": 1})
    stored = mlflow_double.state()["artifacts"]["0/%s/artifacts/env/manifest.json" % run_id]
    assert stored["size"] == 8
    bad = "/api/2.0/mlflow-artifacts/artifacts/0/%s/artifacts/%%2e%%2e/%%2e%%2e/x" % run_id
    assert call(mlflow_double, "PUT", bad, data=b"x")[0] == 400


def test_mlflow_state_survives_sigkill(mlflow_double):
    run_id = create_run(mlflow_double)
    log_batch(mlflow_double, run_id, metrics=[metric(step=0)], params=[{"key": "lr", "value": "1"}])
    before = mlflow_double.state()
    mlflow_double.restart()
    assert mlflow_double.state() == before
    assert log_batch(mlflow_double, run_id, metrics=[metric(step=0), metric(step=1)])[0] == 200
    assert len(mlflow_double.state()["runs"][run_id]["metrics"]) == 2
    assert log_batch(mlflow_double, run_id, params=[{"key": "lr", "value": "2"}])[0] == 400


# === Faults and HTTP ========================================================================
def test_fault_status_with_retry_after(mlflow_double):
    run_id = create_run(mlflow_double)
    mlflow_double.faults([{"match": "log-batch", "kind": "status", "status": 429, "retry_after": "1"}])
    status, headers, answer = log_batch(mlflow_double, run_id, metrics=[metric()])
    assert status == 429 and headers["Retry-After"] == "1" and "error_code" in answer
    assert mlflow_double.state()["runs"][run_id]["metrics"] == []  # not processed
    assert log_batch(mlflow_double, run_id, metrics=[metric()])[0] == 200
    log = [r for r in mlflow_double.requests() if r["path"].endswith("log-batch")]
    assert [(r["status"], (r["fault"] or {}).get("kind")) for r in log] == [(429, "status"), (200, None)]
    assert log[1]["time"] >= log[0]["answered_at"]
    assert json.loads(log[1]["body"])["run_id"] == run_id


def test_fault_count_and_graphql_operation(wandb_double):
    wandb_double.faults({"match": "graphql", "operation": "UpsertBucket", "kind": "status",
                         "status": 500, "count": 2})
    body = {"operationName": "Viewer", "query": "query Viewer { viewer { id } }"}
    assert call(wandb_double, "POST", "/graphql", body)[0] == 200  # another operation: untouched
    assert upsert(wandb_double, name="r")[0] == 500
    status, _, answer = upsert(wandb_double, name="r")
    assert status == 500 and answer["errors"]
    assert wandb_double.control("GET", "faults")["faults"] == []
    assert upsert(wandb_double, name="r")[0] == 200


def test_fault_status_with_graphql_errors_at_200(wandb_double):
    wandb_double.faults({"match": "graphql", "kind": "status", "status": 200,
                         "body": {"errors": [{"message": "rate limited"}], "data": None}})
    status, _, answer = upsert(wandb_double, name="r")
    assert status == 200 and answer["errors"][0]["message"] == "rate limited"


def test_fault_reset_before_processing(wandb_double):
    new_run(wandb_double)
    wandb_double.faults({"match": "file_stream", "kind": "reset"})
    with pytest.raises((OSError, http.client.HTTPException)):
        stream(wandb_double, {"files": {"output.log": {"offset": 0, "content": ["a"]}}})
    assert wandb_run(wandb_double)["files"] == {}
    assert wandb_double.requests()[-1]["status"] is None


def test_fault_reset_after_processing_then_retry_is_exactly_once(mlflow_double):
    run_id = create_run(mlflow_double)
    mlflow_double.faults({"match": "log-batch", "kind": "reset", "when": "after"})
    batch = {"metrics": [metric(step=0), metric(step=1)]}
    with pytest.raises((OSError, http.client.HTTPException)):
        log_batch(mlflow_double, run_id, **batch)
    assert len(mlflow_double.state()["runs"][run_id]["metrics"]) == 2  # it did happen
    assert log_batch(mlflow_double, run_id, **batch)[0] == 200  # the client's retry
    assert len(mlflow_double.state()["runs"][run_id]["metrics"]) == 2


def test_fault_status_after_processing(wandb_double):
    wandb_double.faults({"match": "graphql", "kind": "status", "status": 503, "when": "after"})
    assert upsert(wandb_double, name="r")[0] == 503
    assert "double-user/proj/r" in wandb_double.state()["runs"]


def test_fault_hang_and_delay(wandb_double):
    new_run(wandb_double)
    wandb_double.faults([{"match": "file_stream", "kind": "hang", "seconds": 3},
                         {"match": "file_stream", "kind": "delay", "seconds": 0.4}])
    started = time.monotonic()
    with pytest.raises((OSError, http.client.HTTPException)):
        stream(wandb_double, {}, timeout=0.5)
    assert time.monotonic() - started < 2
    hung = wandb_double.requests()[-1]
    assert hung["fault"]["kind"] == "hang" and hung["status"] is None
    started = time.monotonic()
    assert stream(wandb_double, {})[0] == 200
    assert time.monotonic() - started >= 0.4


@pytest.mark.parametrize("fault", [{"kind": "explode"}, {"kind": "status"}, {"kind": "hang"},
                                   {"kind": "reset", "count": 0}, {"kind": "reset", "when": "later"},
                                   "reset"])
def test_bad_faults_are_refused(wandb_double, fault):
    with pytest.raises(urllib.error.HTTPError) as raised:
        wandb_double.faults([fault])
    assert raised.value.code == 400


def test_keep_alive_and_chunked_bodies(wandb_double):
    new_run(wandb_double)
    connection = http.client.HTTPConnection("127.0.0.1", wandb_double.port, timeout=10)
    headers = {"Authorization": wandb_double.auth_header, "Content-Type": "application/json"}
    path = "/files/double-user/proj/run00001/file_stream"
    for offset in range(3):
        body = json.dumps({"files": {"output.log": {"offset": offset, "content": ["line %d" % offset]}}})
        connection.request("POST", path, body=body, headers=headers)
        answer = connection.getresponse()
        assert answer.status == 200 and json.loads(answer.read())["exitcode"] is None
    body = json.dumps({"files": {"output.log": {"offset": 3, "content": ["chunked"]}}}).encode()
    connection.request("POST", path, body=iter([body[:10], body[10:]]), headers=headers,
                       encode_chunked=True)
    answer = connection.getresponse()
    assert answer.status == 200, answer.read()
    answer.read()
    connection.close()
    streams = [r for r in wandb_double.requests() if r["path"] == path]
    assert len({r["client_port"] for r in streams}) == 1  # one connection for all four
    assert wandb_run(wandb_double)["files"]["output.log"] == ["line 0", "line 1", "line 2", "chunked"]
