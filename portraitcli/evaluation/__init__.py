"""Evaluation: each task's test sets, peers (filters and other models), ONNX runners and scores.

The layer below both ``benchmark/`` (which adds the reports and pictures) and ``train/``
(which scores runs while they train). It needs only the base install: no torch, no
``portraitcli.train``, ``benchmark`` or ``cli`` import.
"""
