"""One module per lesson: its probes (run where the submission lives) and checks (judged here)."""
