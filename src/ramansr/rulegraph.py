"""Fig. 1: the workflow's rule graph, drawn from ``snakemake --rulegraph``.

:func:`rulegraph_dot` runs Snakemake (in a subprocess) for the DOT text, :func:`parse_dot` reads its
rules and edges, and :func:`plot_rulegraph` lays them out (graphviz's ``dot`` when installed, else
:func:`layered_layout`) and draws boxed rules and arrows in the style of :mod:`ramansr.figure_style`.
"""

import re
import shutil
import subprocess
import sys

import numpy as np
from matplotlib.patches import FancyArrowPatch

from ramansr.figure_style import new_figure, save_figure

LAYOUT_STEP_IN = (1.9, 0.8)  # node spacing of the fallback layout, inches


def rulegraph_dot(snakefile, configfiles=(), workdir="."):
    """The DOT text of ``snakemake --rulegraph`` for a workflow and its config files."""
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(snakefile),
        "--rulegraph",
        "--nolock",
        "--quiet",
        "all",
    ]
    if configfiles:
        # one flag for all: Snakemake keeps only the last of repeated --configfile flags
        command += ["--configfile", *map(str, configfiles)]
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, check=True)
    return result.stdout


def parse_dot(dot_text):
    """Nodes and edges of a rule graph's DOT text (the subset snakemake writes).

    Returns
    -------
    labels : dict
        Node id -> rule name.
    edges : list of (source id, target id)
        From the producing rule to the consuming one.
    """
    labels = dict(re.findall(r'^\s*(\w+)\s*\[\s*label\s*=\s*"([^"]+)"', dot_text, flags=re.MULTILINE))
    edges = re.findall(r"^\s*(\w+)\s*->\s*(\w+)", dot_text, flags=re.MULTILINE)
    return labels, edges


def layered_layout(labels, edges):
    """Node positions without graphviz: the layer is the longest path from a source; top to bottom.

    Returns
    -------
    dict
        Node id -> (x, y) in inches (as graphviz's), y decreasing with the layer.
    """
    parents = {node: [] for node in labels}
    for source, target in edges:
        if source != target:  # a rule feeding itself (SRGAN starts from SRResNet) sets no layer
            parents[target].append(source)
    depth = {}

    def node_depth(node):
        if node not in depth:
            depth[node] = 1 + max((node_depth(p) for p in parents[node]), default=-1)
        return depth[node]

    layers = {}
    for node in sorted(labels, key=lambda n: labels[n]):
        layers.setdefault(node_depth(node), []).append(node)
    positions = {}
    for layer, nodes in layers.items():
        for i, node in enumerate(nodes):
            positions[node] = (LAYOUT_STEP_IN[0] * (i - (len(nodes) - 1) / 2), -LAYOUT_STEP_IN[1] * layer)
    return positions


def graphviz_layout(dot_text):
    """Node positions in inches from graphviz's ``dot -Tplain``, or None when ``dot`` is not installed."""
    if shutil.which("dot") is None:
        return None
    plain = subprocess.run(["dot", "-Tplain"], input=dot_text, capture_output=True, text=True, check=True).stdout
    positions = {}
    for line in plain.splitlines():
        fields = line.split()
        if fields and fields[0] == "node":
            positions[fields[1]] = (float(fields[2]), float(fields[3]))
    return positions


def box_half_sizes(ax, texts):
    """Half width and half height of each boxed label, in data units (needs a drawn canvas)."""
    ax.figure.canvas.draw()
    to_data = ax.transData.inverted()
    sizes = {}
    for node, text in texts.items():
        (x0, y0), (x1, y1) = to_data.transform(text.get_bbox_patch().get_window_extent().get_points())
        sizes[node] = (abs(x1 - x0) / 2, abs(y1 - y0) / 2)
    return sizes


def edge_on_box(centre, towards, half_size):
    """Where the line from a box's centre towards a point leaves the box."""
    centre, towards = np.asarray(centre, float), np.asarray(towards, float)
    direction = towards - centre
    limits = [h / abs(d) for h, d in zip(half_size, direction, strict=True) if d != 0]
    return tuple(centre + min([*limits, 1.0]) * direction)


def rule_arrow(start, end, start_size, end_size):
    """An arrow from one rule's box to another's; a loop on the right of the box when a rule feeds itself."""
    style = {"arrowstyle": "-|>", "mutation_scale": 12, "color": "0.45", "linewidth": 1.0, "shrinkA": 1, "shrinkB": 1}
    if start == end:
        x, y = start
        right = x + start_size[0]
        return FancyArrowPatch(
            (right, y + 0.6 * start_size[1]), (right, y - 0.6 * start_size[1]), connectionstyle="arc3,rad=-2.5", **style
        )
    return FancyArrowPatch(edge_on_box(start, end, start_size), edge_on_box(end, start, end_size), **style)


def plot_rulegraph(dot_text, out_paths):
    """Fig. 1: the workflow's rules and their dependencies.

    Parameters
    ----------
    dot_text : str
        Output of ``snakemake --rulegraph``.
    out_paths : sequence of path-like
    """
    dot_text = dot_text[dot_text.find("digraph") :]
    labels, edges = parse_dot(dot_text)
    positions = graphviz_layout(dot_text) or layered_layout(labels, edges)
    xs = np.array([positions[n][0] for n in labels])
    ys = np.array([positions[n][1] for n in labels])
    fig, axes = new_figure(1, 1, panel_size=(max(6.5, np.ptp(xs) + 2.5), np.ptp(ys) + 1.2))
    ax = axes[0, 0]
    ax.set_xlim(xs.min() - 1.0, xs.max() + 1.0)
    ax.set_ylim(ys.min() - 0.4, ys.max() + 0.4)
    ax.set_axis_off()
    ax.set_title("ramansr workflow: each arrow feeds a rule's output into another rule's input", fontsize=13)
    texts = {
        node: ax.text(
            *positions[node],
            name,
            ha="center",
            va="center",
            fontsize=11,
            zorder=3,
            bbox={"boxstyle": "round,pad=0.4", "facecolor": "#dbe9f6", "edgecolor": "#2c6aa0"},
        )
        for node, name in labels.items()
    }
    sizes = box_half_sizes(ax, texts)
    for source, target in edges:
        ax.add_patch(rule_arrow(positions[source], positions[target], sizes[source], sizes[target]))
    save_figure(fig, out_paths)
