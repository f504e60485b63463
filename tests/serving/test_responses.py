"""The answers as types: every handler returns the Struct its OpenAPI documents, and building an answer
never fails on a key the shape does not declare (it is dropped), keeps "absent" absent and "null" null,
and turns values msgspec does not convert by itself into what the JSON encoder would write."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar

from pipelines.prediction import Prediction
from pipelines.settings import Settings
from serving.app import create_app
from serving.responses import Shape, admin, jobs, shaped, trading
from serving.schemas import FromReturnAnnotation
from tests.serving_support import make_user
from tests.shape_support import decode_strict


class _Inner(Shape):
    name: str


class _Answer(Shape):
    when: str
    inner: _Inner
    rows: list[_Inner]
    note: str | None
    extra_info: dict[str, Any] | msgspec.UnsetType | None = msgspec.UNSET


def test_unknown_keys_are_dropped_at_every_depth_never_refused() -> None:
    value = {
        "when": "2024-01-01",
        "inner": {"name": "a", "surprise": 1},
        "rows": [{"name": "b", "new_key": [1, 2]}],
        "note": None,
        "added_by_a_domain_function": True,
    }
    answer = shaped(_Answer, value)
    assert msgspec.json.decode(msgspec.json.encode(answer)) == {
        "when": "2024-01-01",
        "inner": {"name": "a"},
        "rows": [{"name": "b"}],
        "note": None,  # present with null stays present with null
    }  # and the field optional by presence stays absent


def test_present_optional_fields_are_encoded_and_values_are_converted_as_json() -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    value = {"when": when, "inner": {"name": Path("p")}, "rows": [], "note": "n", "extra_info": {"at": when}}
    body = msgspec.json.decode(msgspec.json.encode(shaped(_Answer, value)))
    assert body == {
        "when": "2024-01-02T03:04:05Z",
        "inner": {"name": "p"},
        "rows": [],
        "note": "n",
        "extra_info": {"at": "2024-01-02T03:04:05Z"},
    }


def test_a_wrong_value_is_a_validation_error() -> None:
    with pytest.raises(msgspec.ValidationError):
        shaped(_Answer, {"when": "x", "inner": {"name": "a"}, "rows": "no", "note": None})
    with pytest.raises(msgspec.ValidationError):  # a required field missing
        shaped(_Answer, {"inner": {"name": "a"}, "rows": [], "note": None})


def test_the_tests_strict_decoding_refuses_what_the_runtime_drops() -> None:
    good = {"when": "w", "inner": {"name": "a"}, "rows": [{"name": "b"}], "note": None}
    assert decode_strict(good, _Answer).rows == [_Inner(name="b")]
    for bad in ({**good, "x": 1}, {**good, "rows": [{"name": "b", "x": 1}]}, {**good, "inner": {"name": 1}}):
        with pytest.raises(msgspec.ValidationError):
            decode_strict(bad, _Answer)


def _shape_classes() -> list[type[Shape]]:
    out: list[type[Shape]] = []
    todo: list[type[Shape]] = [Shape]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo.extend(cls.__subclasses__())
    return out


def test_no_response_shape_refuses_unknown_fields() -> None:
    classes = [c for c in _shape_classes() if c.__module__.startswith("serving.responses")]
    assert admin.ErrorEnvelope in classes and trading.SignalPredicted in classes and jobs.Job in classes
    for cls in classes:
        assert not cls.__struct_config__.forbid_unknown_fields, cls


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    return create_app(Settings(home=tmp_path_factory.mktemp("responses") / "home"))


def test_every_documented_answer_is_the_handlers_return_type(app: Litestar) -> None:
    checked = 0
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            spec = (handler.responses or {}).get(handler.status_code)
            if spec is None or spec.media_type != "application/json":
                continue
            assert spec.data_container is not FromReturnAnnotation, route.path
            returned = handler.parsed_fn_signature.return_type
            if returned.is_subclass_of(msgspec.Struct):
                assert spec.data_container is returned.annotation, route.path
            elif returned.origin is list:  # a plain JSON list of answers: list[Struct]
                assert returned.inner_types[0].is_subclass_of(msgspec.Struct), route.path
                assert spec.data_container == returned.annotation, route.path
            else:  # Response[Answer | JobAccepted]: the answer at 200, the job at 202
                assert spec.data_container in returned.inner_types[0].args, route.path
                accepted = handler.responses[202].data_container  # the queued job, in its document's shape
                assert accepted is jobs.JobAccepted or accepted in returned.inner_types[0].args, route.path
            checked += 1
    assert checked > 38


def test_a_key_a_domain_result_adds_never_reaches_the_client_nor_fails(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_dict = Prediction.as_dict
    monkeypatch.setattr(Prediction, "as_dict", lambda self: {**as_dict(self), "debug_internal": [1, 2]})
    h = make_user(client)["headers"]
    answer = client.post("/api/v1/predictions/predict", json={"model_name": "lgbm_aapl"}, headers=h)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "debug_internal" not in body and body["signal"] is not None
    decode_strict(body, trading.SignalPredicted)
