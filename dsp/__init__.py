"""Pure signal processing: numpy/scipy only, no clocks, I/O, Qt, bleak or pylsl.

Stream time always arrives with the data (seconds on the LSL clock).
"""
