"""MLflow "models from code" entry of a training-platform model: no pickled object is stored."""

from mlflow.models import set_model

from pipelines.learning.pyfunc import LearningPyfunc

set_model(LearningPyfunc())
