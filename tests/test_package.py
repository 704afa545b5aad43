"""The package surface: lazy topic imports and the error hierarchy."""

import subprocess
import sys

import pytest

import dscourse as ds


def test_topic_packages_import_on_first_use():
    code = ("import sys, dscourse as ds; assert 'dscourse.raft' not in sys.modules; "
            "ds.raft; assert 'dscourse.raft' in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


@pytest.mark.parametrize("get", [lambda: ds.no_such_topic, lambda: ds.ids.no_such_module,
                                 lambda: ds.ids.snowflake_private_name, lambda: ds._private])
def test_unknown_attributes_raise_attribute_error(get):
    with pytest.raises(AttributeError):
        get()


def test_configuration_errors_are_value_errors_and_dscourse_errors():
    with pytest.raises(ValueError) as info:
        ds.sim.Simulation(seed=-1)
    assert isinstance(info.value, ds.DscourseError) and "-1" in str(info.value)
