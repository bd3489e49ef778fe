import msgpack

from domain.keys import JsonValue


class MsgpackValueEncoder:
    """Values are stored as native MessagePack; JSON types map one to one."""

    def __init__(self) -> None:
        self._pack = msgpack.Packer(autoreset=True, use_bin_type=True).pack

    def encode(self, value: JsonValue) -> bytes:
        try:
            packed: bytes = self._pack(value)  # already bytes: a bytes() copy cost 30% here
            return packed
        except OverflowError as exc:
            raise ValueError("integer outside the 64-bit range") from exc
        except UnicodeEncodeError as exc:
            raise ValueError("string is not valid Unicode") from exc
