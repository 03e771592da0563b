"""Text from outside made safe for XDF's XML headers and string samples.

XML 1.0 (https://www.w3.org/TR/xml/#charsets) allows tab, newline, carriage return and
the characters from U+0020 up, except the surrogates U+D800-U+DFFF and U+FFFE/U+FFFF.
A strap's Model Number string, a subject's name, an LSL host name or a marker can hold
anything; one control character (``HR<U+0001>Band``) in a stream header makes the whole
file unreadable to pyxdf. So every text that goes into a header is cleaned here: a
forbidden character becomes U+FFFD (the replacement character), so a reader can see that
something was there.
"""

import re
import xml.etree.ElementTree as ET

#: Characters XML 1.0 forbids.
_FORBIDDEN = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
REPLACEMENT = "\ufffd"


def xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 forbids replaced by U+FFFD."""
    return _FORBIDDEN.sub(REPLACEMENT, text)


def utf8(text: str) -> bytes:
    """UTF-8 bytes of ``text``; a lone surrogate (not encodable) becomes ``?``."""
    return text.encode("utf-8", "replace")


def clean_tree(element: ET.Element) -> ET.Element:
    """A copy of ``element`` whose tags, texts and attributes are all XML-safe."""
    attrib = {xml_safe(k): xml_safe(v) for k, v in element.attrib.items()}
    out = ET.Element(xml_safe(element.tag), attrib)
    out.text = None if element.text is None else xml_safe(element.text)
    out.tail = None if element.tail is None else xml_safe(element.tail)
    out.extend(clean_tree(child) for child in element)
    return out
