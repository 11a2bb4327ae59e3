"""pytest fixtures that start the tracker doubles, one fresh process and state
directory per test. Use them from a test module or conftest with

    from doubles.fixtures import wandb_double, mlflow_double  # noqa: F401

Each yields a DoubleProcess (see common.py) with `.env`, the environment a W&B
or MLflow client needs to reach it, and its credentials as attributes.
"""
import base64

import pytest

from .common import DoubleProcess

WANDB_MODULE = "tests.e2e.doubles.wandb_server"
MLFLOW_MODULE = "tests.e2e.doubles.mlflow_server"
# W&B API keys are 40 characters.
WANDB_API_KEY = "d0ub1e0000000000000000000000000000000key"
WANDB_ENTITY = "double-user"
MLFLOW_USERNAME = "double-user"
MLFLOW_PASSWORD = "double-password"
MLFLOW_TOKEN = "double-token"


class WandbDouble(DoubleProcess):
    api_key = WANDB_API_KEY
    entity = WANDB_ENTITY

    @property
    def env(self):
        return {"WANDB_BASE_URL": self.url, "WANDB_API_KEY": self.api_key, "WANDB_MODE": "online"}

    @property
    def auth_header(self):
        return "Basic " + base64.b64encode(("api:" + self.api_key).encode()).decode()


class MlflowDouble(DoubleProcess):
    username = password = token = None

    @property
    def env(self):
        env = {"MLFLOW_TRACKING_URI": self.url}
        if self.username is not None:
            env.update(MLFLOW_TRACKING_USERNAME=self.username, MLFLOW_TRACKING_PASSWORD=self.password)
        if self.token is not None:
            env["MLFLOW_TRACKING_TOKEN"] = self.token
        return env

    @property
    def auth_header(self):
        if self.username is not None:
            raw = "%s:%s" % (self.username, self.password)
            return "Basic " + base64.b64encode(raw.encode()).decode()
        return "Bearer %s" % self.token if self.token is not None else None


def start_wandb(state_dir, extra_args=()):
    double = WandbDouble(WANDB_MODULE, ["--api-key", WANDB_API_KEY, "--entity", WANDB_ENTITY,
                                        *extra_args], str(state_dir))
    return double.start()


def start_mlflow(state_dir, token=False, extra_args=()):
    if token:
        double = MlflowDouble(MLFLOW_MODULE, ["--token", MLFLOW_TOKEN, *extra_args], str(state_dir))
        double.token = MLFLOW_TOKEN
    else:
        double = MlflowDouble(MLFLOW_MODULE, ["--username", MLFLOW_USERNAME, "--password",
                                              MLFLOW_PASSWORD, *extra_args], str(state_dir))
        double.username, double.password = MLFLOW_USERNAME, MLFLOW_PASSWORD
    return double.start()


@pytest.fixture
def wandb_double(tmp_path):
    """The W&B double, API key WANDB_API_KEY, user entity "double-user"."""
    double = start_wandb(tmp_path / "wandb-double")
    yield double
    double.kill()


@pytest.fixture
def mlflow_double(tmp_path):
    """The MLflow double with Basic auth (MLFLOW_USERNAME / MLFLOW_PASSWORD)."""
    double = start_mlflow(tmp_path / "mlflow-double")
    yield double
    double.kill()


@pytest.fixture
def mlflow_token_double(tmp_path):
    """The MLflow double with Bearer auth (MLFLOW_TOKEN)."""
    double = start_mlflow(tmp_path / "mlflow-token-double", token=True)
    yield double
    double.kill()


@pytest.fixture
def start_double(tmp_path):
    """A factory for doubles with extra arguments: start_double("wandb",
    "--crash-after", "1") or start_double("mlflow", "--param-value-limit", "500",
    token=True). Each gets its own state directory and is killed after the test."""
    started = []

    def start(kind, *extra_args, token=False):
        state_dir = tmp_path / ("%s-double-%d" % (kind, len(started)))
        if kind == "wandb":
            double = start_wandb(state_dir, extra_args)
        else:
            double = start_mlflow(state_dir, token, extra_args)
        started.append(double)
        return double

    yield start
    for double in started:
        double.kill()
