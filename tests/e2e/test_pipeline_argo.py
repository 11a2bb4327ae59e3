"""`aero-launch pipeline argo FILE`: the Argo Workflow it prints is checked
against Argo's own schema (@kubernetes-models/argo-workflows, run by
tests/k8s/check.mjs), by a strict structural check here, and by playing it as
Argo would: each task's container started with the real aero-init and its
environment, its output parameters read from the files the manifest names,
and handed to the tasks that follow as Argo hands them."""
import json
import os
import re
import subprocess

import pytest
import yaml

from test_k8s import RUNS_MOUNT, checker, env_of, env_parts, launch, security  # noqa: F401

DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = "127.0.0.1:5000/team/exp@" + DIGEST
OTHER_IMAGE = "127.0.0.1:5000/team/eval@sha256:" + "fedcba9876543210" * 4
VOCAB = "f" * 64

# prepare -> train-a, train-b -> evaluate; names with '.' (not in Argo's
# parameter names), a store version pinned by number and one by digest.
PIPELINE = {
    "name": "mnist",
    "tasks": [
        {"name": "prepare", "command": ["python3", "prepare.py", "--split", "0.1"],
         "inputs": ["raw-data:v3"], "outputs": ["clean.v1"], "seed": 7,
         "config": {"split": 0.1, "nested": {"b": [1, None, "x"], "a": "yes"}}},
        {"name": "train-a", "command": ["python3", "train.py", "--lr", "3e-4"],
         "inputs": ["clean.v1"], "outputs": ["model-a"], "seed": 4294967295,
         "config": {"lr": 3e-4}, "resources": {"cpus": 2, "memory": "4g", "gpus": 1}},
        {"name": "train-b", "command": ["python3", "train.py", "--lr", "1e-3"],
         "inputs": ["clean.v1", "vocab@sha256:" + VOCAB], "outputs": ["model-b"],
         "resources": {"cpus": 0.5, "memory": "1536m"}},
        {"name": "evaluate", "command": ["python3", "eval.py"], "image": OTHER_IMAGE,
         "inputs": ["model-a", "model-b"], "after": ["prepare"]},
    ],
}
OPTIONS = ["--image", IMAGE, "--store", "s3://team-store/ml", "--tracker", "wandb", "--namespace",
           "ml", "--service-account", "argo-runner", "--secret",
           "WANDB_API_KEY=wandb-creds:api-key", "--secret",
           "AWS_SECRET_ACCESS_KEY=s3:secret", "--env", "AWS_REGION=eu-west-1"]


def write_pipeline(tmp_path, pipeline, name="pipeline.json"):
    path = tmp_path / name
    path.write_text(json.dumps(pipeline) if not isinstance(pipeline, str) else pipeline)
    return str(path)


def workflow_text(launch, tmp_path, *args, pipeline=PIPELINE):  # noqa: F811
    r = launch("pipeline", "argo", *(args or OPTIONS), write_pipeline(tmp_path, pipeline))
    assert r.returncode == 0, r.stderr
    return r.stdout.decode()


def test_workflow_passes_the_argo_schema(launch, checker, tmp_path):  # noqa: F811
    r = checker(workflow_text(launch, tmp_path), tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Workflow mnist-: valid" in r.stdout


def test_the_schema_checker_rejects_a_broken_workflow(launch, checker, tmp_path):  # noqa: F811
    """The checker can fail: an image that is not a string, and dependencies
    that are not a list, are refused by Argo's schema."""
    doc = yaml.safe_load(workflow_text(launch, tmp_path))
    doc["spec"]["templates"][1]["container"]["image"] = 7
    r = checker(yaml.safe_dump(doc), tmp_path)
    assert r.returncode == 1
    assert "templates/1/container/image must be string" in r.stdout
    doc = yaml.safe_load(workflow_text(launch, tmp_path))
    doc["spec"]["templates"][0]["dag"]["tasks"][1]["dependencies"] = "prepare"
    r = checker(yaml.safe_dump(doc), tmp_path)
    assert r.returncode == 1 and "dependencies must be array" in r.stdout


def test_yaml_1_1_and_1_2_readers_read_the_same(launch, checker, tmp_path):  # noqa: F811
    text = workflow_text(launch, tmp_path)
    r = checker(text, tmp_path, as_json=True)
    assert r.returncode == 0, r.stdout
    assert json.loads(r.stdout) == yaml.safe_load(text)


def test_workflow_structure(launch, tmp_path):  # noqa: F811
    doc = yaml.safe_load(workflow_text(launch, tmp_path))
    assert set(doc) == {"apiVersion", "kind", "metadata", "spec"}
    assert (doc["apiVersion"], doc["kind"]) == ("argoproj.io/v1alpha1", "Workflow")
    assert doc["metadata"] == {"generateName": "mnist-", "namespace": "ml",
                               "labels": {"app.kubernetes.io/managed-by": "aeromancy"},
                               "annotations": {"aeromancy/pipeline": "mnist"}}
    spec = doc["spec"]
    assert set(spec) == {"entrypoint", "serviceAccountName", "podSpecPatch", "podMetadata",
                         "volumes", "templates"}
    assert spec["entrypoint"] == "mnist" and spec["serviceAccountName"] == "argo-runner"
    # aero-init's grace (10s), the margin (30s) and the tracker's timeout (60s).
    assert json.loads(spec["podSpecPatch"]) == {"terminationGracePeriodSeconds": 100}
    assert spec["volumes"] == [{"name": "aero-runs", "emptyDir": {}}]
    templates = {t["name"]: t for t in spec["templates"]}
    assert [t["name"] for t in spec["templates"]] == ["mnist", "prepare", "train-a", "train-b",
                                                      "evaluate"]
    # The DAG: each task's dependencies are what it needs (producers and "after"),
    # each input another task makes is an argument from that task's output parameter.
    assert templates["mnist"] == {"name": "mnist", "dag": {"tasks": [
        {"name": "prepare", "template": "prepare"},
        {"name": "train-a", "template": "train-a", "dependencies": ["prepare"],
         "arguments": {"parameters": [
             {"name": "clean_v1", "value": "{{tasks.prepare.outputs.parameters.clean_v1}}"}]}},
        {"name": "train-b", "template": "train-b", "dependencies": ["prepare"],
         "arguments": {"parameters": [
             {"name": "clean_v1", "value": "{{tasks.prepare.outputs.parameters.clean_v1}}"}]}},
        {"name": "evaluate", "template": "evaluate",
         "dependencies": ["prepare", "train-a", "train-b"],
         "arguments": {"parameters": [
             {"name": "model-a", "value": "{{tasks.train-a.outputs.parameters.model-a}}"},
             {"name": "model-b", "value": "{{tasks.train-b.outputs.parameters.model-b}}"}]}},
    ]}}
    # Output parameters: what aero-init noted in the task's run directory.
    expected_io = {
        "prepare": (None, {"clean_v1": "clean.v1"}),
        "train-a": (["clean_v1"], {"model-a": "model-a"}),
        "train-b": (["clean_v1"], {"model-b": "model-b"}),
        "evaluate": (["model-a", "model-b"], None),
    }
    overrides = {
        "prepare": "raw-data=v3",
        "train-a": "clean.v1={{inputs.parameters.clean_v1}}",
        "train-b": "clean.v1={{inputs.parameters.clean_v1}},vocab=sha256:" + VOCAB,
        "evaluate": "model-a={{inputs.parameters.model-a}},model-b={{inputs.parameters.model-b}}",
    }
    resources = {
        "prepare": None,
        "train-a": {"requests": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"},
                    "limits": {"memory": "4Gi", "nvidia.com/gpu": "1"}},
        "train-b": {"requests": {"cpu": "500m", "memory": "1536Mi"},
                    "limits": {"memory": "1536Mi"}},
        "evaluate": None,
    }
    for task in PIPELINE["tasks"]:
        name = task["name"]
        t = templates[name]
        inputs, outputs = expected_io[name]
        assert set(t) == {"name", "container"} | ({"inputs"} if inputs else set()) | (
            {"outputs"} if outputs else set())
        if inputs:
            assert t["inputs"] == {"parameters": [{"name": n} for n in inputs]}
        run_dir = RUNS_MOUNT + "/" + name
        if outputs:
            assert t["outputs"] == {"parameters": [
                {"name": p, "valueFrom": {"path": run_dir + "/outputs/" + a}}
                for p, a in outputs.items()]}
        c = t["container"]
        keys = {"name", "image", "command", "args", "env", "volumeMounts", "securityContext"}
        assert set(c) == keys | ({"resources"} if resources[name] else set())
        assert c["name"] == "main"
        image = task.get("image", IMAGE)
        assert c["image"] == image
        assert c["command"] == ["/usr/bin/aero-init", "--"]
        assert c["args"] == task["command"]
        assert c.get("resources") == resources[name]
        assert c["volumeMounts"] == [{"name": "aero-runs", "mountPath": RUNS_MOUNT}]
        assert c["securityContext"] == security()
        plain = env_parts(c)
        # The task's config, canonical: sorted keys, no spaces; equal when read back.
        assert json.loads(plain.pop("AERO_CONFIG")) == task.get("config", {})
        # The task as aero-init records it in the manifest's run.pipeline.
        assert json.loads(plain.pop("AERO_PIPELINE")) == {
            "name": doc["metadata"]["generateName"][:-1], "id": "{{workflow.name}}",
            "task": name, "config": task.get("config", {})}
        want = {"AERO_RUN_DIR": run_dir, "AERO_IMAGE": image, "AERO_GRACE_PERIOD": "10s",
                "AERO_TRACKER": "wandb", "AERO_STORE": "s3://team-store/ml",
                "AWS_REGION": "eu-west-1", "WANDB_RUN_GROUP": "{{workflow.name}}",
                "WANDB_JOB_TYPE": name, "AERO_ARTIFACT_OVERRIDES": overrides[name]}
        if "seed" in task:
            want["AERO_SEED"] = str(task["seed"])
        # No AERO_RUN_ID: each pod is a run of its own, with an id aero-init draws.
        assert plain == want


def test_the_canonical_config_and_plain_yaml_text(launch, tmp_path):  # noqa: F811
    text = workflow_text(launch, tmp_path)
    assert ('value: "{\\"nested\\":{\\"a\\":\\"yes\\",\\"b\\":[1,null,\\"x\\"]},'
            '\\"split\\":0.1}"') in text
    assert "\n  entrypoint: mnist\n" in text


def test_the_dag_template_is_named_apart_from_the_tasks(launch, tmp_path):  # noqa: F811
    """A task may be called as the pipeline is; the DAG then takes another name."""
    pipeline = {"name": "pipeline", "tasks": [
        {"name": "pipeline", "command": ["true"]}, {"name": "pipeline-2", "command": ["true"]}]}
    doc = yaml.safe_load(workflow_text(launch, tmp_path, "--image", IMAGE, pipeline=pipeline))
    assert doc["spec"]["entrypoint"] == "pipeline-3"
    assert [t["name"] for t in doc["spec"]["templates"]] == ["pipeline-3", "pipeline",
                                                             "pipeline-2"]
    # Without artifacts no store is needed, nor overrides.
    c = doc["spec"]["templates"][1]["container"]
    assert "AERO_ARTIFACT_OVERRIDES" not in env_of(c) and "AERO_STORE" not in env_of(c)


def test_user_and_caps_reach_every_task(launch, tmp_path):  # noqa: F811
    doc = yaml.safe_load(workflow_text(launch, tmp_path, *OPTIONS, "--user", "1000:1000",
                                       "--grace", "2s"))
    assert json.loads(doc["spec"]["podSpecPatch"]) == {"terminationGracePeriodSeconds": 92}
    for t in doc["spec"]["templates"][1:]:
        assert t["container"]["securityContext"] == security(runAsUser=1000, runAsGroup=1000,
                                                             runAsNonRoot=True)
        assert env_of(t["container"])["AERO_GRACE_PERIOD"]["value"] == "2s"


def cycle():
    p = json.loads(json.dumps(PIPELINE))
    p["tasks"][0]["after"] = ["evaluate"]
    return p


def with_task(**fields):
    p = json.loads(json.dumps(PIPELINE))
    p["tasks"][1].update(fields)
    return p


@pytest.mark.parametrize("pipeline,args,message", [
    (cycle(), OPTIONS, "wait on each other in a cycle"),
    ("{not json", OPTIONS, "not JSON"),
    ({"tasks": [{"name": "a", "command": ["x"], "colour": "red"}]}, OPTIONS,
     "unknown key 'colour'"),
    (with_task(resources={"gpus": "all"}), OPTIONS, "gpus \"all\" has no meaning in Kubernetes"),
    (with_task(outputs=["model.a", "model_a"]), OPTIONS,
     "'model.a' and 'model_a' would both be Argo's parameter 'model_a'"),
    (PIPELINE, ["--image", IMAGE], "give the store they share, --store"),
    (PIPELINE, ["--store", "s3://b/p"], "no image: give --image"),
    (PIPELINE, [*OPTIONS, "--store", "ftp://x"], "is not a store URL"),
    (PIPELINE, [*OPTIONS, "--env", "AERO_CONFIG=x"], "AERO_CONFIG is set twice"),
    (PIPELINE, [*OPTIONS, "--env", "WANDB_API_KEY=x"], "looks like a secret"),
    (PIPELINE, [*OPTIONS, "--service-account", "Not_A_Name"], "is not a DNS subdomain"),
    (with_task(image="UPPER/case:1"), OPTIONS, "task 'train-a': image: "),
    (PIPELINE, [*OPTIONS, "--cpu", "2"], "unknown option '--cpu'"),
])
def test_what_cannot_run_is_refused_first(launch, tmp_path, pipeline, args,  # noqa: F811
                                          message):
    r = launch("pipeline", "argo", *args, write_pipeline(tmp_path, pipeline))
    assert r.returncode == 2, r.stderr
    assert r.stdout == b""
    assert message in r.stderr.decode(), r.stderr


def test_command_line_mistakes(launch, tmp_path):  # noqa: F811
    path = write_pipeline(tmp_path, PIPELINE)
    for args, message in [([], "the pipeline file is missing"),
                          ([path, path], "one pipeline file, and options before it"),
                          ([str(tmp_path / "missing.json")], "cannot read the pipeline")]:
        r = launch("pipeline", "argo", *OPTIONS, *args)
        assert r.returncode == 2 and r.stdout == b"", r.stderr
        assert message in r.stderr.decode()
    r = launch("pipeline")
    assert r.returncode == 2 and b"subcommand is missing" in r.stderr
    r = launch("pipeline", "frobnicate")
    assert r.returncode == 2 and b"unknown subcommand 'frobnicate'" in r.stderr
    r = launch("pipeline", "--help")
    assert r.returncode == 0 and re.search(rb"\n  argo +print an Argo Workflow", r.stdout)
    r = launch("pipeline", "argo", "--help")
    assert r.returncode == 0 and b"--store URL" in r.stdout and b"--image" in r.stdout
    r = launch("--help")
    assert b"pipeline argo" in r.stdout


def test_a_task_image_by_tag_warns(launch, tmp_path):  # noqa: F811
    r = launch("pipeline", "argo", *OPTIONS,
               write_pipeline(tmp_path, with_task(image="python:3.12")))
    assert r.returncode == 0
    assert b"task 'train-a': image python:3.12 is a tag" in r.stderr
    doc = yaml.safe_load(r.stdout)
    assert doc["spec"]["templates"][2]["container"]["image"] == "python:3.12"


# --- playing the Workflow as Argo would -------------------------------------

def trainer(x):
    """train-a or train-b: prefixes each line of clean.v1 with x, puts model-x."""
    return {"name": "train-" + x, "inputs": ["clean.v1"], "outputs": ["model-" + x],
            "command": ["sh", "-c", "set -e; aero-init artifact get clean.v1 in; mkdir m; "
                        "sed s/^/%s:/ in/data.txt > m/w; aero-init artifact put model-%s m"
                        % (x, x)]}


PLAYED = {
    "name": "played",
    "tasks": [
        {"name": "prepare", "seed": 11, "config": {"rows": 3},
         "command": ["sh", "-c", 'set -e; aero-init artifact get base got; mkdir d; '
                     'cat got/base.txt > d/data.txt; echo "$AERO_SEED $AERO_CONFIG" >> d/data.txt; '
                     'aero-init artifact put clean.v1 d'],
         "inputs": ["base:v1"], "outputs": ["clean.v1"]},
        *(trainer(x) for x in "ab"),
        {"name": "evaluate", "command": ["sh", "-c", 'set -e; aero-init artifact get model-a a; '
                                         'aero-init artifact get model-b b; '
                                         'cat a/w b/w > "$REPORT"'],
         "inputs": ["model-a", "model-b"]},
    ],
}


def put(aero_init, env, name, text, where):
    where.mkdir(parents=True)
    (where / (name + ".txt")).write_text(text)
    r = subprocess.run([aero_init, "artifact", "put", "--json", name, str(where)], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def play(doc, aero_init, tmp_path, env_base, between=None):
    """Runs the DAG's tasks in order, each pod with an emptyDir of its own,
    resolving {{tasks.*}}, {{inputs.parameters.*}} and {{workflow.name}} as
    Argo's controller does; between(task) runs after each task."""
    spec = doc["spec"]
    templates = {t["name"]: t for t in spec["templates"]}
    outputs, manifests = {}, {}
    for task in templates[spec["entrypoint"]]["dag"]["tasks"]:
        assert all(d in outputs for d in task.get("dependencies", []))
        args = {}
        for p in task.get("arguments", {}).get("parameters", []):
            m = re.fullmatch(r"\{\{tasks\.([a-z0-9-]+)\.outputs\.parameters\.([\w-]+)\}\}",
                             p["value"])
            args[p["name"]] = outputs[m.group(1)][m.group(2)]
        t = templates[task["template"]]
        assert [p["name"] for p in t.get("inputs", {}).get("parameters", [])] == list(args)

        def resolve(text):
            text = text.replace("{{workflow.name}}", "played-x7k2p")
            text = re.sub(r"\{\{inputs\.parameters\.([\w-]+)\}\}", lambda m: args[m.group(1)],
                          text)
            assert "{{" not in text, text
            return text
        volume = tmp_path / "pods" / task["name"]
        volume.mkdir(parents=True)
        work = tmp_path / "work" / task["name"]
        work.mkdir(parents=True)
        c = t["container"]
        env = dict(env_base, AERO_POD_NAME="played-x7k2p-" + task["name"])
        for e in c["env"]:
            if "value" in e:
                env[e["name"]] = resolve(e["value"]).replace(RUNS_MOUNT, str(volume))
        r = subprocess.run([aero_init, *c["command"][1:], *map(resolve, c["args"])], env=env,
                           cwd=work, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        # Argo reads each output parameter's file when the container ends.
        outputs[task["name"]] = {
            p["name"]: (volume / os.path.relpath(p["valueFrom"]["path"], RUNS_MOUNT)).read_text()
            for p in t.get("outputs", {}).get("parameters", [])}
        manifests[task["name"]] = json.loads(
            (volume / task["name"] / "manifest.json").read_text())
        if between:
            between(task["name"])
    return outputs, manifests


def test_played_workflow_hands_on_the_exact_versions(launch, aero_init, tmp_path):  # noqa: F811
    """Each task gets the version its producer put, even when the name has a
    newer version by then (another workflow's), and the version the pipeline
    file pins: the store's latest is never what decides."""
    store = "file://" + str(tmp_path / "store")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(aero_init, bin_dir / "aero-init")
    env_base = {"PATH": str(bin_dir) + ":" + os.environ["PATH"], "HOME": str(tmp_path),
                "AERO_CACHE_DIR": str(tmp_path / "cache"), "REPORT": str(tmp_path / "report"),
                "KUBERNETES_SERVICE_HOST": "10.96.0.1"}
    put(aero_init, dict(env_base, AERO_STORE=store), "base", "base-1\n", tmp_path / "b1")
    put(aero_init, dict(env_base, AERO_STORE=store), "base", "base-2\n", tmp_path / "b2")
    r = launch("pipeline", "argo", "--image", IMAGE, "--store", store,
               write_pipeline(tmp_path, PLAYED))
    assert r.returncode == 0, r.stderr
    assert b"a volume is mounted there in every pod" in r.stderr  # file:// is a warning

    def meanwhile(task):
        if task == "prepare":  # a newer clean.v1, from elsewhere
            put(aero_init, dict(env_base, AERO_STORE=store), "clean.v1", "other\n",
                tmp_path / "other")
    outputs, manifests = play(yaml.safe_load(r.stdout), aero_init, tmp_path, env_base, meanwhile)
    made = manifests["prepare"]["outputs"]
    assert [(o["name"], o["version"]) for o in made] == [("clean.v1", 1)]
    assert outputs["prepare"] == {"clean_v1": made[0]["digest"]}
    for task in ("train-a", "train-b"):
        [got] = manifests[task]["inputs"]
        assert (got["name"], got["version"], got["digest"]) == ("clean.v1", 1, made[0]["digest"])
    assert [(i["name"], i["version"]) for i in manifests["prepare"]["inputs"]] == [("base", 1)]
    assert sorted((i["name"], i["digest"]) for i in manifests["evaluate"]["inputs"]) == [
        ("model-a", outputs["train-a"]["model-a"]), ("model-b", outputs["train-b"]["model-b"])]
    assert (tmp_path / "report").read_text() == (
        'a:base-1\na:11 {"rows":3}\nb:base-1\nb:11 {"rows":3}\n')
    # Each pod a run of its own, with the seed the file gives.
    ids = {m["run"]["id"] for m in manifests.values()}
    assert len(ids) == 4
    assert manifests["prepare"]["seed"]["base"] == "11"
