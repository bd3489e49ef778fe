"""Only the C extension lives here; everything else is in pyproject.toml.

_jsonbatch turns a write request's body straight into packed pairs (infrastructure/codec.py;
docs/decisions/001-c-write-path.md). optional=True: without a C compiler the install still
succeeds and the API runs on the library path; `make test` fails then (tests/unit/test_codec.py),
since `make` installs gcc and the Python headers.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "kv_api.infrastructure._jsonbatch",
            ["src/infrastructure/_jsonbatch.c"],
            depends=["src/infrastructure/_msgpack_buffer.h"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
    ]
)
