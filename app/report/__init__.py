"""The session report: HTML with hand-written SVG figures."""
