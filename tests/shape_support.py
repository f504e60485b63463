"""Strict decoding of the API's answers for the tests: the response Structs drop keys they do not
declare (so a domain function adding a key can never turn an answer into a 500); the tests decode
with this instead, which refuses such keys at any depth, so an example or an answer holding a field
the documented shape lacks still fails."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

__all__ = ["decode_strict"]

T = TypeVar("T")


def decode_strict(value: Any, shape: type[T]) -> T:
    """``msgspec.convert(value, shape)``, refusing (``msgspec.ValidationError``) a key that a Struct of
    ``shape`` does not declare, at any depth."""
    _refuse_unknown(value, mi.type_info(shape), "$")
    return msgspec.convert(value, shape)


def _refuse_unknown(value: Any, info: mi.Type, path: str) -> None:
    if isinstance(info, mi.Metadata):
        _refuse_unknown(value, info.type, path)
    elif isinstance(info, mi.StructType):
        if isinstance(value, dict):
            fields = {f.encode_name: f.type for f in info.fields}
            unknown = sorted(set(value) - set(fields))
            if unknown:
                raise msgspec.ValidationError(f"undocumented field(s) {unknown} at `{path}`")
            for key, item in value.items():
                _refuse_unknown(item, fields[key], f"{path}.{key}")
    elif isinstance(info, mi.UnionType):
        structs = [t for t in info.types if isinstance(t, mi.StructType)]
        if isinstance(value, dict) and structs:
            errors = []
            for member in structs:
                try:
                    _refuse_unknown(value, member, path)
                    return
                except msgspec.ValidationError as exc:
                    errors.append(exc)
            raise errors[0]
        for member in info.types:
            if not isinstance(member, mi.StructType):
                _refuse_unknown(value, member, path)
    elif isinstance(info, mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType):
        if isinstance(value, list):
            for i, item in enumerate(value):
                _refuse_unknown(item, info.item_type, f"{path}[{i}]")
    elif isinstance(info, mi.DictType) and isinstance(value, dict):
        for key, item in value.items():
            _refuse_unknown(item, info.value_type, f"{path}.{key}")
