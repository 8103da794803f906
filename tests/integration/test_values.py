"""Reading SDK values: ``get`` and ``fields`` on dicts, pydantic models and other objects;
bodies read piece by piece."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pydantic

from tracklm.integration.values import body_text, fields, get, sse_data


class Delta(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")

    content: str | None = None
    role: str | None = None


class Slotted:
    __slots__ = ("content",)

    def __init__(self, content: str) -> None:
        self.content = content


class NotGiven:  # named as the Stainless SDKs' sentinel
    pass


def test_get_reads_models_and_mappings_and_gives_the_default_for_none_and_sentinels() -> None:
    delta = Delta(content="hi", extra_field=3)  # type: ignore[call-arg]
    assert get(delta, "content") == "hi"
    assert get(delta, "extra_field") == 3
    assert get(delta, "role", "none") == "none"
    assert get({"a": NotGiven()}, "a", "default") == "default"
    assert get(None, "a", 1) == 1


def test_fields_of_a_dict_a_mapping_and_a_model_are_their_own_fields() -> None:
    given: dict[str, Any] = {"content": "x"}
    assert fields(given) is given
    proxy = MappingProxyType({"content": "y"})
    assert fields(proxy) is proxy
    delta = Delta(content="z")
    assert fields(delta).get("content") == "z"
    assert fields(delta).get("role") is None
    assert fields(Delta(role="assistant")).get("role") == "assistant"  # the type is cached


def test_fields_of_none_are_empty_and_of_other_objects_read_through_get() -> None:
    assert fields(None).get("content") is None
    assert fields(None).get("content", 0) == 0
    assert fields(Slotted("s")).get("content") == "s"
    assert fields(Slotted("s")).get("missing", "d") == "d"


def test_fields_of_a_model_include_its_extra_fields() -> None:
    delta = Delta(content="hi", extra_field=3)  # type: ignore[call-arg]
    assert fields(delta).get("extra_field") == 3
    assert fields(delta).get("content") == "hi"


def test_a_body_read_in_byte_pieces_keeps_a_character_cut_between_two_pieces() -> None:
    body = 'data: {"text": "caf\u00e9 \U0001f600"}\n\ndata: [DONE]\n\n'.encode()
    cut = body.index("\U0001f600".encode()) + 2  # inside the emoji's four bytes
    pieces = [body[:3], body[3:cut], body[cut:]]

    assert body_text(pieces) == body.decode()
    assert list(sse_data(body_text(pieces))) == [{"text": "caf\u00e9 \U0001f600"}]


def test_a_body_read_in_lines_or_text_is_joined_by_its_separator() -> None:
    assert body_text(["data: 1", "", "data: 2"], "\n") == "data: 1\n\ndata: 2"
    assert body_text(["da", b"ta"]) == "data"
    assert body_text([]) == ""
