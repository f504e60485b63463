"""MLflow "models from code" entry: MLflow runs this file to build the pyfunc model, so no
pickled Python object is stored with a registered version."""

from mlflow.models import set_model

from pipelines.models.mlflow_model import TradeforgePyfunc

set_model(TradeforgePyfunc())
