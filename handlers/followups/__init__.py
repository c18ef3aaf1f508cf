"""回访: a resolved order's rating over time (reminder, 未评价) and staff's phone follow-ups."""
