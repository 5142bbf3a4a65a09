"""Hot paths compiled by Cython, each with its pure-Python twin.

`<name>_py.py` is the reference implementation and the source Cython compiles (typed by
`cext/<name>_c.pxd`) into `<name>_c`. `<name>.py` exports the compiled build unless
KNPY_NO_EXTENSIONS is set or the build is missing. This package imports nothing else from knpy.
"""
