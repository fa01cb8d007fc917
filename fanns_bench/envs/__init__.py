"""Per-method environments: methods whose dependencies conflict with ours run in their own venv."""

from fanns_bench.envs.environment import ensure_environment, environment_path
from fanns_bench.envs.isolated import IsolatedMethod
from fanns_bench.envs.process import WorkerProcess

__all__ = ["IsolatedMethod", "WorkerProcess", "ensure_environment", "environment_path"]
