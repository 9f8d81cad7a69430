"""`hallmonitor eval`: labelled photos scored against the verdicts, and the contact sheet of misses."""
