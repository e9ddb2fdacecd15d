"""The evaluation harness: benchmark tasks through any frame and model, compared side by side."""
