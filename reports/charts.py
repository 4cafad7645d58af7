"""Charts as SVG drawn on the server with pygal, readable and printable without JavaScript.

pygal puts its configuration in a <script> even when told to load no scripts (`js=[]`), so the
script elements are taken out of the tree before it is written: the SVG holds shapes, text and one
<style>, nothing that runs (the console's policy allows no inline script anyway).
"""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence

import pygal
from pygal.style import Style

# pygal's import appends to sys.meta_path a finder of the kind before Python 3.4 (find_module
# only), for map plugins this project does not use. Every import that misses (an optional module
# probed with try/except ImportError) then reaches it and Python warns with an ImportWarning,
# which under the tests' warning filter became the error in boto/moto's imports. Out it goes.
sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, pygal.PluginImportFixer)]

# The fonts of reports.pdf (not imported from there: that would load WeasyPrint with every page), so
# that Chinese labels render in the browser and in the PDF alike.
FONT_FAMILY = '"WenQuanYi Zen Hei", "Noto Sans CJK SC", sans-serif'
STYLE = Style(font_family=FONT_FAMILY, background="white", plot_background="white",
              colors=("#1f5fa8", "#d9822b", "#3a8d3f", "#a83232"), title_font_size=16, label_font_size=11,
              major_label_font_size=11, legend_font_size=12, value_font_size=10)
KINDS = {"bar": pygal.Bar, "line": pygal.Line, "stacked": pygal.StackedBar}


def chart_svg(kind: str, title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence]]) -> bytes:
    """One chart: `labels` along the x axis, each series a name and one value per label (None: no value)."""
    chart = KINDS[kind](title=title, style=STYLE, js=[], width=800, height=400, legend_at_bottom=True,
                        x_label_rotation=30 if len(labels) > 8 else 0, show_legend=len(series) > 1,
                        print_values=len(labels) <= 12, disable_xml_declaration=True, no_data_text="—",
                        explicit_size=False)
    chart.x_labels = [str(label) for label in labels]
    for name, values in series:
        chart.add(str(name), [None if value is None else float(value) for value in values])
    tree = chart.render_tree()  # the standard library's ElementTree (lxml is not installed)
    for parent in list(tree.iter()):
        for child in [child for child in parent if child.tag == "script"]:
            parent.remove(child)
    return ElementTree.tostring(tree, encoding="utf-8")
