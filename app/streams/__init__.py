"""What heartsync publishes: the streams declared once (specs), and their LSL outlets."""
