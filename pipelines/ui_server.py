"""The MLflow server app that `suite ui` runs (`mlflow ui --app-name suite-ui`, the `mlflow.app` entry point in
pyproject.toml): MLflow's own, every route and middleware, with a page that opens in the model-training view.

MLflow 3.17 keeps its GenAI / model-training choice per browser, in localStorage "mlflow.workflowType_v1" (a JSON
string); while it is unset the UI shows GenAI, whatever the experiment's mlflow.experimentKind tag says. Only the
sidebar toggle stores a choice; a ?workflowType= query rules the page it is on and is lost on the pages MLflow links
to, so a fresh browser would open a run page, a bookmark or the experiments list in the GenAI view. The page's
first script stores model training where the browser has no choice yet: a person who toggles to GenAI keeps GenAI."""
from __future__ import annotations

from pathlib import Path

from flask import Response
from mlflow.server import app as flask_app
from mlflow.server.fastapi_app import app  # noqa: F401 (what uvicorn serves: MLflow's app, with its security)

VIEW_KEY = "mlflow.workflowType_v1"  # MLflow's useLocalStorage({key: "mlflow.workflowType", version: 1})
DEFAULT_VIEW = (f'<script>try {{ if (localStorage.getItem("{VIEW_KEY}") === null) '
                f'localStorage.setItem("{VIEW_KEY}", \'"machine_learning"\'); }} catch (e) {{}}</script>')
PAGE = Path(flask_app.static_folder, "index.html").read_text().replace("<head>", "<head>" + DEFAULT_VIEW, 1)
if DEFAULT_VIEW not in PAGE:
    raise RuntimeError("MLflow's index.html has no <head>: the suite cannot make its UI open in model training")

# The React app is one page, served at "/" by MLflow's view "serve"; it runs this script before its bundle (deferred).
flask_app.view_functions["serve"] = lambda: Response(PAGE, mimetype="text/html")
