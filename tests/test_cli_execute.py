"""``dscourse execute``: notebooks executed in place, as they are committed."""

from __future__ import annotations

import os

import nbformat

from dscourse import cli


def _stream(name: str, text: str) -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def test_merge_streams_joins_only_consecutive_outputs_of_one_name():
    result = {"output_type": "execute_result", "data": {"text/plain": "3"}, "metadata": {},
              "execution_count": 1}
    cell = {"cell_type": "code", "outputs": [
        _stream("stdout", "a\n"), _stream("stdout", ["b\n", "c\n"]), _stream("stderr", "warn\n"),
        _stream("stdout", "d\n"), result, _stream("stdout", "e\n")]}
    cli.merge_streams(cell)
    assert cell["outputs"] == [_stream("stdout", "a\nb\nc\n"), _stream("stderr", "warn\n"),
                               _stream("stdout", "d\n"), result, _stream("stdout", "e\n")]


def test_execute_writes_a_cell_that_flushes_twice_as_one_output(tmp_path, monkeypatch):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import os, sys, time\n"
        "print('first', flush=True)\n"
        "time.sleep(0.5)\n"
        "print('second', os.environ.get('DSCOURSE_STATIC'))\n"
        "print('oops', file=sys.stderr)")]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    monkeypatch.delenv("DSCOURSE_STATIC", raising=False)
    assert cli.main(["execute", str(path)]) == 0
    outputs = nbformat.read(path, as_version=4).cells[0].outputs
    assert [(o.output_type, o.name, o.text) for o in outputs] == [
        ("stream", "stdout", "first\nsecond 1\n"), ("stream", "stderr", "oops\n")]
    assert "DSCOURSE_STATIC" not in os.environ
