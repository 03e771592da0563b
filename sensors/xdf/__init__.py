"""XDF 1.0 files: the chunk format, the reader and repair.

It sits below both sides that use it: :mod:`sensors.replay` reads recordings as a source
of beats, :mod:`app.recording.recorder` writes them.
"""

from sensors.xdf.chunks import (
    BOUNDARY_UUID,
    FORMATS,
    MAGIC,
    NUMERIC_FORMATS,
    RecordingError,
    RecordingWriteError,
    Tag,
    XdfFormatError,
    boundary_chunk,
    chunk,
    clock_offset_chunk,
    file_header_chunk,
    footer_element,
    samples_chunk,
    stream_footer_chunk,
    stream_header_chunk,
    varlen,
    xml_bytes,
)
from sensors.xdf.reader import XdfRecording, XdfStream, read_xdf
from sensors.xdf.repair import RepairReport, default_target, repair_xdf
from sensors.xdf.text import xml_safe

__all__ = [
    "BOUNDARY_UUID",
    "FORMATS",
    "MAGIC",
    "NUMERIC_FORMATS",
    "RecordingError",
    "RecordingWriteError",
    "RepairReport",
    "Tag",
    "XdfFormatError",
    "XdfRecording",
    "XdfStream",
    "boundary_chunk",
    "chunk",
    "clock_offset_chunk",
    "default_target",
    "file_header_chunk",
    "footer_element",
    "read_xdf",
    "repair_xdf",
    "samples_chunk",
    "stream_footer_chunk",
    "stream_header_chunk",
    "varlen",
    "xml_bytes",
    "xml_safe",
]
