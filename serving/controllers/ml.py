"""/api/ml: the newest predictions with the indicators they were made on, the registered models'
last evaluation with the prediction log's totals, and retraining a registered model (queued)."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_202_ACCEPTED

from pipelines.db.types import isoformat_utc
from serving.context import PrincipalDep
from serving.providers.ml import ML, MlDep
from serving.responses import shaped, success
from serving.responses import status as s
from serving.schemas import doc
from serving.schemas import status_examples as ex
from serving.schemas.status_examples import RetrainBody

__all__ = ["MlController"]

_OWNERSHIP = (
    " Only the model's owner or an admin may retrain it (403 FORBIDDEN otherwise); an unknown model is"
    " 404 NOT_FOUND; a model already training or queued to is 409 CONFLICT unless `force` is true."
)


class MlController(Controller):
    path = "/api/ml"
    tags = ["ml"]
    dependencies = ML

    @get(
        "/predictions",
        summary="Your newest predictions with the RSI, MACD and Bollinger position they were made on",
        description="`model_type` filters by a registered model's name or by a model kind; `features` "
        "are null where not recorded (an ensemble's answer).",
        responses=doc(ex.ML_PREDICTIONS, 400, 401),
        sync_to_thread=True,
    )
    def predictions(
        self,
        ml: MlDep,
        principal: PrincipalDep,
        symbol: str | None = Parameter(default=None, max_length=40, description="Only this symbol"),
        model_type: str | None = Parameter(
            default=None, max_length=100, description="Only this model (a registered name or a kind)"
        ),
        limit: int = Parameter(default=50, ge=1, le=1000),
    ) -> s.MlPredictionsAnswer:
        rows = ml.predictions(principal, limit=limit, symbol=symbol, model_type=model_type)
        data = {"predictions": rows, "count": len(rows)}
        return shaped(s.MlPredictionsAnswer, success(data))

    @get(
        "/performance",
        summary="Each registered model's last evaluation; the prediction log's totals",
        description="Accuracy is the validation directional accuracy of the model's serving version; "
        "precision, recall and F1 score its call of an up move. The totals count your predictions (an "
        "admin's: everyone's); a successful prediction is one served with a finite signal.",
        responses=doc(ex.ML_PERFORMANCE, 401),
        sync_to_thread=True,
    )
    def performance(self, ml: MlDep, principal: PrincipalDep) -> s.MlPerformanceAnswer:
        data = ml.performance(principal)
        return shaped(s.MlPerformanceAnswer, success(data))

    @post(
        "/retrain",
        status_code=HTTP_202_ACCEPTED,
        summary="Queue a training of a registered model like its serving version",
        description="Trains a new version with the serving version's kind, data series, feature set and "
        "hyper-parameters on the bars stored now, as a `training` job (follow it at `job_url`); the "
        "champion moves only if the new version beats it." + _OWNERSHIP,
        responses=doc(ex.RETRAIN_STARTED, 400, 401, 403, 404, 409, status=202, description="Queued"),
        sync_to_thread=True,
    )
    def retrain(self, ml: MlDep, principal: PrincipalDep, data: RetrainBody) -> s.RetrainAnswer:
        job, estimate = ml.retrain(principal, data.model_type, force=data.force)
        started = {
            "model_type": data.model_type,
            "training_started": isoformat_utc(job.created_at),
            "estimated_duration": estimate,
            "status": "training" if job.status == "running" else "queued",
            "job_id": job.id,
            "job_url": f"/api/v1/jobs/{job.id}",
        }
        return shaped(s.RetrainAnswer, success(started))
