"""Reads the TensorBoard event files of a directory with TensorBoard's own loader and prints
every scalar as JSON: {"tag": [[step, value, wall_time], ...]}. Used by tensorboard_test.cpp.

Usage: read_tfevents.py DIR
"""
import json
import sys

from tensorboard.backend.event_processing import event_accumulator

acc = event_accumulator.EventAccumulator(sys.argv[1], size_guidance={event_accumulator.SCALARS: 0})
acc.Reload()
out = {tag: [[e.step, e.value, e.wall_time] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
print(json.dumps(out))
