from typing import Any

import pytest

from kv_api.domain.errors import BatchTooLarge, InvalidKey, InvalidValue
from kv_api.domain.keys import BatchLimits


def nested(depth: int, container: str = "list") -> Any:
    """A value with `depth` containers inside each other; a scalar has depth 0."""
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if container == "list" or level % 2 else {"k": value}
    return value


class TestBatchSize:
    def test_empty_batch_is_rejected(self) -> None:
        with pytest.raises(BatchTooLarge, match="keys must not be empty"):
            BatchLimits().check_batch_size(0, "keys")

    def test_up_to_the_limit_is_accepted(self) -> None:
        BatchLimits(max_items=3).check_batch_size(3, "keys")
        BatchLimits(max_items=3).check_batch_size(1, "keys")

    def test_one_over_the_limit_is_rejected(self) -> None:
        with pytest.raises(BatchTooLarge, match=r"too many data: 4 > 3"):
            BatchLimits(max_items=3).check_batch_size(4, "data")

    def test_default_limit_is_10000(self) -> None:
        BatchLimits().check_batch_size(10_000, "keys")
        with pytest.raises(BatchTooLarge):
            BatchLimits().check_batch_size(10_001, "keys")


class TestKey:
    def test_empty_key_is_rejected(self) -> None:
        with pytest.raises(InvalidKey, match="must not be empty") as exc:
            BatchLimits().check_key("")
        assert exc.value.code == "invalid_key"

    @pytest.mark.parametrize(
        "key",
        [
            "a" * 1024,
            "é" * 512,
            "€" * 341 + "a",
            "😀" * 256,
            " ",
            "ключ/with spaces\tand\ttabs",
        ],
    )
    def test_keys_of_up_to_1024_utf8_bytes_are_accepted(self, key: str) -> None:
        assert len(key.encode()) <= 1024
        BatchLimits().check_key(key)

    @pytest.mark.parametrize(
        "key",
        ["a" * 1025, "é" * 512 + "a", "€" * 341 + "é", "😀" * 256 + "a", "😀" * 257, "é" * 1024],
    )
    def test_keys_over_1024_utf8_bytes_are_rejected(self, key: str) -> None:
        assert len(key.encode()) > 1024
        with pytest.raises(InvalidKey, match="longer than 1024 bytes of UTF-8") as exc:
            BatchLimits().check_key(key)
        assert exc.value.key == key

    def test_a_key_with_few_characters_but_many_bytes_is_measured_in_bytes(self) -> None:
        limits = BatchLimits(max_key_bytes=8)
        limits.check_key("😀😀")
        with pytest.raises(InvalidKey):
            limits.check_key("😀😀a")
        with pytest.raises(InvalidKey):
            limits.check_key("ééééa")

    @pytest.mark.parametrize("key", ["\ud800", "a\udfffb", "ok" * 10 + "\udc80"])
    def test_keys_that_are_not_valid_unicode_are_rejected(self, key: str) -> None:
        with pytest.raises(InvalidKey, match="not valid Unicode"):
            BatchLimits().check_key(key)

    def test_check_keys_names_the_first_bad_key(self) -> None:
        with pytest.raises(InvalidKey) as exc:
            BatchLimits(max_key_bytes=3).check_keys(["abc", "abcd", ""])
        assert exc.value.key == "abcd"


class TestDepth:
    @pytest.mark.parametrize("container", ["list", "mixed"])
    def test_exactly_the_depth_limit_is_accepted(self, container: str) -> None:
        BatchLimits().check_value("k", nested(64, container))
        BatchLimits(max_depth=3).check_value("k", nested(3, container))

    @pytest.mark.parametrize("container", ["list", "mixed"])
    def test_one_level_over_the_limit_is_rejected(self, container: str) -> None:
        with pytest.raises(InvalidValue, match="nested deeper than 64 levels") as exc:
            BatchLimits().check_value("deep", nested(65, container))
        assert exc.value.key == "deep"
        assert exc.value.code == "invalid_value"

    def test_a_deep_branch_after_a_shallow_one_is_found(self) -> None:
        value = {"a": [1, 2], "b": {"c": [], "d": [nested(2)]}}
        BatchLimits(max_depth=5).check_value("k", value)
        with pytest.raises(InvalidValue):
            BatchLimits(max_depth=4).check_value("k", value)

    @pytest.mark.parametrize("scalar", [None, True, 0, -1.5, "text", ""])
    def test_scalars_and_empty_containers_are_fine_at_depth_one(self, scalar: Any) -> None:
        limits = BatchLimits(max_depth=1)
        limits.check_value("k", scalar)
        limits.check_value("k", [scalar])
        limits.check_value("k", {})

    def test_wide_but_shallow_values_are_fine(self) -> None:
        BatchLimits(max_depth=2).check_value("k", {str(i): [i] for i in range(1000)})


class TestEncodedSize:
    def test_exactly_the_limit_is_accepted(self) -> None:
        BatchLimits(max_value_bytes=100).check_encoded_size("k", 100)
        BatchLimits().check_encoded_size("k", 1024 * 1024)

    def test_over_the_limit_is_rejected_naming_the_key(self) -> None:
        with pytest.raises(InvalidValue, match="101 bytes encoded, over the limit of 100") as exc:
            BatchLimits(max_value_bytes=100).check_encoded_size("big", 101)
        assert exc.value.key == "big"


class TestItems:
    def test_checks_size_keys_and_depth(self) -> None:
        limits = BatchLimits(max_items=2, max_depth=2)
        limits.check_items({"a": 1, "b": [[1]]})
        with pytest.raises(BatchTooLarge):
            limits.check_items({})
        with pytest.raises(BatchTooLarge):
            limits.check_items({"a": 1, "b": 2, "c": 3})
        with pytest.raises(InvalidKey):
            limits.check_items({"": 1})
        with pytest.raises(InvalidValue) as exc:
            limits.check_items({"a": 1, "b": [[[1]]]})
        assert exc.value.key == "b"
