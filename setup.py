"""Only the C extension lives here; everything else is in pyproject.toml.

optional=True: without a C compiler the install still succeeds and the API runs on the
pure-Python path (infrastructure.codec); `make test` fails then (test_codec.py), since
`make` installs gcc and the Python headers.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "infrastructure._batchcodec",
            ["src/infrastructure/_batchcodec.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    ]
)
