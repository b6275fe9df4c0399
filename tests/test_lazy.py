import sys

from hglm.lazy import lazy


def test_a_lazy_module_imports_on_first_attribute():
    sys.modules.pop("colorsys", None)
    colorsys = lazy("colorsys")
    assert "colorsys" not in sys.modules and "first use" in repr(colorsys)
    assert colorsys.rgb_to_hsv(1.0, 0.0, 0.0) == (0.0, 1.0, 1.0)
    assert "colorsys" in sys.modules
