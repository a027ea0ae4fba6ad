"""Pure numeric kernels: contiguous NumPy arrays in, arrays or NamedTuples out.

No dataframes, no I/O, no warnings, no printing. Each module opens with its contract.
"""
