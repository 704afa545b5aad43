"""check() names every stub of an exercise, not only the first one a test ran into."""

from __future__ import annotations

import importlib.util
import sys
import textwrap

import nbclient
import nbformat
from hypothesis import given
from hypothesis import strategies as st

from dscourse.grading import selfcheck

ANSWER = '''# ANSWER E9.42
class Base(ds.sim.Node):
    def on_timer(self, name, payload):
        raise NotImplementedError


class Multi(Base):
    def __init__(self, node_id):
        super().__init__(node_id)
        raise NotImplementedError("E9.42: write Multi.__init__() (see the exercise text above)")

    def on_start(self):
        """Start."""
        # YOUR CODE HERE
        raise NotImplementedError("E9.42: write Multi.on_start() (see the exercise text above)")

    def helper(self):
        if self.id == "x":
            raise NotImplementedError("only for x")   # conditional: not a stub
        return 1

    def on_message(self, src, msg):
        raise NotImplementedError("E9.42: write Multi.on_message() (see the exercise text above)")


def plan():
    raise NotImplementedError("E9.42: write plan() (see the exercise text above)")
'''

CELLS = [
    "import dscourse as ds",
    '@ds.grading.test("E9.42", points=1)\ndef starts(t, Multi, plan):\n    """Multi starts."""\n'
    "    Multi('a')\n",
    ANSWER,
    'ds.grading.check("E9.42")',
]


def test_check_in_a_kernel_names_every_stub():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    text = "".join(o.get("text", "") for o in nb.cells[3].outputs if o.output_type == "stream")
    assert text.startswith("E9.42 is not implemented yet: write Multi.__init__() (see"), text
    for stub in ("Multi.on_start()", "Multi.on_message()", "plan()",
                 "write Multi.on_timer();"):           # inherited, and a stub without a message
        assert stub in text, (stub, text)
    assert "helper" not in text and "only for x" not in text
    assert "Replace the lines that raise NotImplementedError" in text


def _module(tmp_path, source: str):
    """``source`` as a real module (so that ``inspect.getsource`` finds it, as in a kernel)."""
    path = tmp_path / "stubbed_answer.py"
    path.write_text("import dscourse as ds\n" + textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location("stubbed_answer", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["stubbed_answer"] = module
    spec.loader.exec_module(module)
    return vars(module)


def test_stubs_are_listed_in_source_order_with_their_own_messages(tmp_path):
    ns = _module(tmp_path, ANSWER.split("\n", 1)[1])
    assert selfcheck.stubs("E9.42", ["Multi", "plan"], ns) == [
        "write Multi.__init__() (see the exercise text above)",
        "write Multi.on_start() (see the exercise text above)",
        "write Multi.on_message() (see the exercise text above)",
        "write Multi.on_timer()",
        "write plan() (see the exercise text above)",
    ]
    implemented = ANSWER.split("\n", 1)[1].replace(
        'raise NotImplementedError("E9.42: write plan() (see the exercise text above)")', "return []")
    ns = _module(tmp_path, implemented)
    assert selfcheck.stubs("E9.42", ["plan"], ns) == []
    assert selfcheck.stubs("E9.42", ["missing"], ns) == []


_method = st.from_regex(r"[a-z][a-z_]{0,8}\(\)", fullmatch=True)


@given(st.lists(_method, min_size=1, max_size=6, unique=True))
def test_the_todo_phrase_names_every_stub_once(methods):
    said = [f"write C.{m} (see the exercise text above)" for m in methods]
    todo = selfcheck._todo(said)
    assert todo.startswith("write ") and todo.endswith(" (see the exercise text above)")
    assert todo.count("(see the exercise text above)") == 1
    for m in methods:
        assert f"C.{m}" in todo
    mixed = [*said, "write D.x()"]
    assert selfcheck._todo(mixed) == "; ".join(mixed)
