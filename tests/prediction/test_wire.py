"""Feature matrices and model outputs encoded for the inference service decode bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.errors import InvalidRequestError
from pipelines.prediction.wire import MAX_WIRE_VALUES, decode_matrix, encode_matrix


def test_matrices_round_trip_bit_for_bit() -> None:
    x = np.random.default_rng(3).normal(size=(5, 7))
    x[0, :4] = [np.nan, np.inf, -np.inf, -0.0]
    x[1, 0] = np.nextafter(1.0, 2.0)
    encoded = encode_matrix(x)
    back = decode_matrix(encoded["shape"], encoded["data"])
    assert back.dtype == np.float64 and back.shape == (5, 7) and back.flags.writeable
    assert back.tobytes() == x.tobytes()
    assert np.signbit(back[0, 3])
    flat = encode_matrix(x[:, 0].copy())
    assert decode_matrix(flat["shape"], flat["data"]).tobytes() == x[:, 0].tobytes()


@pytest.mark.parametrize(
    ("shape", "data", "says"),
    [
        ([2, 2], "AAAA", "needs 32"),
        ([1, 1], "not base64!", "not valid base64"),
        ([1, 1, 1], "", "1 or 2"),
        ([-1], "", "1 or 2"),
        ([True], "", "1 or 2"),
        ("3", "", "1 or 2"),
        ([1], 12, "base64 string"),
        ([MAX_WIRE_VALUES + 1], "", "at most"),
    ],
)
def test_bad_matrices_are_refused(shape: object, data: object, says: str) -> None:
    with pytest.raises(InvalidRequestError, match=says):
        decode_matrix(shape, data)
