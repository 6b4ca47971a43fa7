"""The HTML report: one self-contained file per call (no network, no script; opens from disk).

Per run directory: provenance (dataset, a SYNTHETIC banner when it applies, detector and enhancer
weights hashes, the command, versions), the Table VII-shaped table for both protocols with 95% CIs and
the best value per column marked, AP@0.3/0.5/0.7 vs QF with CI bands, P-R curves per QF, AP by face
size, the forest plot of paired differences against the baseline, and image strips (see
`facebench.image_strips`). Every number is read from results.json; images are PNG data URIs.
Table cells carry their exact value in `data-value` (repr of the float) so tests can check them.
"""
from __future__ import annotations

import base64
import io
from datetime import datetime, timezone
from html import escape
from typing import List, Optional, Sequence

import cv2
import numpy as np
from matplotlib.figure import Figure

from facebench import __version__, plotting
from facebench.evaluation import IOU_THRESHOLDS, PROTOCOLS, ap_entry
from facebench.image_strips import DET_COLOR, GT_COLOR, choose_images, crop_window, draw_tile, faces_found, image_gains
from facebench.run_dirs import RunDir
from facebench.strip_sources import StripSource, StripSourceError

_PROTOCOL_TITLES = {"official": "official DARK FACE protocol", "coco": "COCO-style (pycocotools)"}
_TILE_WIDTH = 260  # displayed width a strip tile is enlarged towards, pixels
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:22px}h2{font-size:19px;border-bottom:2px solid #ccc;margin-top:36px}h3{font-size:16px}
.synthetic{background:#b00020;color:#fff;padding:10px 14px;font-weight:bold;font-size:16px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 7px;text-align:left}
table.ap td.ap{text-align:right;white-space:nowrap}.ci{color:#666;font-size:11px}
td.best{background:#fff2b3}code{font-size:12px}.prov th{background:#f4f4f4;width:170px}
img.fig{max-width:100%;display:block;margin:8px 0}.figs{display:flex;flex-wrap:wrap;gap:10px}
.strip{display:flex;flex-wrap:wrap;gap:6px;align-items:flex-start;margin:6px 0 14px}
.strip .qf{font-weight:bold;flex-basis:100%}.strip figure{margin:0;font-size:12px;text-align:center}
.strip img{image-rendering:pixelated;display:block}.na{color:#b00020;max-width:240px;font-size:12px}
"""


def figure_uri(fig: Figure, dpi: int = 100) -> str:
    """A matplotlib figure as a PNG data URI (the figure is closed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plotting.plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def png_uri(rgb: np.ndarray) -> str:
    """uint8 RGB [H, W, 3] as a lossless PNG data URI."""
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError(f"OpenCV could not PNG-encode an image of shape {rgb.shape}")
    return "data:image/png;base64," + base64.b64encode(data.tobytes()).decode("ascii")


def _rows(pairs: Sequence[tuple]) -> str:
    return "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in pairs)


def _weights(identity: Optional[dict]) -> str:
    weights = (identity or {}).get("weights")
    if not weights:
        return "no weights"
    return f"sha256 <code>{escape(weights['sha256'])}</code> ({escape(weights.get('source', ''))})"


def _enhancer_rows(results: dict) -> str:
    seen = {}
    for run in results["runs"]:
        seen.setdefault(run["enhancer_spec"], run["enhancer"])
    cells = []
    for spec, identity in seen.items():
        parts = identity.get("chain", [identity])
        text = "<br>".join(f"{escape(p['name'])}: {escape(str(p.get('settings') or {}))}; {_weights(p)}" for p in parts)
        cells.append((spec, text))
    return _rows(cells)


def provenance_html(results: dict) -> str:
    """Where the numbers come from: dataset, detector, enhancers, command, versions."""
    data, env, det = results["dataset"], results.get("environment", {}), results["detector"]
    packages = ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items() if v)
    pairs = [
        ("dataset", f"{escape(data['name'])} ({escape(data['format'])}): {data['images']} images, "
                    f"{data['faces']} faces"),
        ("dataset path", f"<code>{escape(data['path'])}</code>"),
        ("dataset sha256", f"<code>{escape(data['content_sha256'])}</code>"),
        ("detector", f"{escape(det['name'])} {escape(str(det.get('settings') or {}))}; {_weights(det)}"),
        ("JPEG quality factors", escape(", ".join(results["qfs"]))),
        ("bootstrap", f"{results.get('bootstrap_resamples')} resamples, seed {results.get('seed')}"),
        ("command", f"<code>{escape(results.get('command', ''))}</code>"),
        ("versions", escape(packages)),
        ("git revision", f"<code>{escape(str(env.get('git_revision')))}</code>"),
        ("device, time", escape(f"{env.get('device')} ({env.get('device_name')}), {env.get('time_utc')}")),
    ]
    banner = ('<p class="synthetic">SYNTHETIC data: generated images, not real night photos; these numbers say '
              'nothing about real dark photos.</p>') if results["synthetic_data"] else ""
    return (f"{banner}<table class='prov'>{_rows(pairs)}</table>"
            f"<h4>Enhancers</h4><table class='prov'>{_enhancer_rows(results)}</table>")


def _fmt(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _ap_cell(entry: dict, protocol: str, spec: str, qf: str, iou: float, best: bool) -> str:
    """One Table VII cell: AP (bold when best in its column) over its CI, exact value in `data-value`."""
    value = _fmt(entry["ap"])
    ci = entry["ci"]
    ci_text = f"<br><span class='ci'>[{_fmt(ci[0])}, {_fmt(ci[1])}]</span>" if ci else ""
    return (f"<td class='ap{' best' if best else ''}' data-protocol='{protocol}' data-enhancer='{escape(spec)}' "
            f"data-qf='{escape(qf)}' data-iou='{iou:g}' data-value='{entry['ap']!r}'>"
            f"{f'<b>{value}</b>' if best else value}{ci_text}</td>")


def table_html(results: dict, protocol: str) -> str:
    """Table VII shape: a row per enhancer, a column per QF x IoU; AP over its 95% CI; best per column marked."""
    qfs, specs = results["qfs"], results["enhancers"]
    runs = {(r["enhancer_spec"], r["qf"]): r for r in results["runs"]}
    entries = {(spec, qf, iou): ap_entry(runs[(spec, qf)]["metrics"], protocol, iou)
               for spec in specs for qf in qfs for iou in IOU_THRESHOLDS}
    best = {(qf, iou): max([entries[(s, qf, iou)]["ap"] for s in specs if entries[(s, qf, iou)]["ap"] is not None],
                           default=None) for qf in qfs for iou in IOU_THRESHOLDS}
    head = "<tr><th rowspan=2>enhancer</th>" + "".join(f"<th colspan=3>QF {escape(qf)}</th>" for qf in qfs) + "</tr>"
    head += "<tr>" + "".join(f"<th>AP@{iou:g}</th>" for _ in qfs for iou in IOU_THRESHOLDS) + "</tr>"
    is_best = {key: entry["ap"] is not None and entry["ap"] == best[key[1:]] for key, entry in entries.items()}
    body = "".join(f"<tr><th>{escape(spec)}</th>"
                   + "".join(_ap_cell(entries[(spec, qf, iou)], protocol, spec, qf, iou, is_best[(spec, qf, iou)])
                             for qf in qfs for iou in IOU_THRESHOLDS) + "</tr>" for spec in specs)
    return f"<h4>mAP, {_PROTOCOL_TITLES[protocol]}</h4><table class='ap'>{head}{body}</table>"


def _img(uri: str, alt: str, css: str = "fig") -> str:
    return f"<img class='{css}' src='{uri}' alt='{escape(alt)}'>"


def figures_html(results: dict) -> str:
    """AP vs QF, P-R per QF, AP by size and the forest plot as embedded PNGs."""
    parts = ["<h3>AP vs JPEG quality factor (official protocol)</h3>",
             _img(figure_uri(plotting.ap_vs_qf_figure(results)), "AP vs QF")]
    prs = plotting.pr_figures([results], iou=0.5, by="enhancer")
    parts.append("<h3>Precision-recall curves per QF (official protocol, IoU 0.5)</h3><div class='figs'>")
    parts += [_img(figure_uri(fig), f"P-R {title}") for title, fig in prs.items()]
    parts.append("</div><h3>AP by face size (COCO AP@0.5, 95% CI)</h3>")
    parts.append(_img(figure_uri(plotting.size_figure(results)), "AP by face size"))
    forest = plotting.forest_figure(results)
    parts.append("<h3>Paired differences vs the baseline (official protocol)</h3>")
    parts.append(_img(figure_uri(forest), "forest plot") if forest is not None
                 else "<p>One enhancer only: no paired comparison.</p>")
    return "".join(parts)


def _tile(source: StripSource, qf: str, spec: Optional[str], image_id: str, window, gt: np.ndarray,
          dets: np.ndarray, score: float, scale: int) -> str:
    """One tile of a strip as a <figure>: the cropped image with boxes, captioned with faces found."""
    name = spec or "input"
    try:
        image = source.degraded(qf, image_id) if spec is None else source.enhanced(qf, spec, image_id)
    except StripSourceError as exc:
        return (f"<figure><figcaption><b>{escape(name)}</b></figcaption>"
                f"<p class='na'>not shown: {escape(str(exc))}</p></figure>")
    tile = draw_tile(image, window, gt, dets, score, scale)
    found = f"found {faces_found(gt, dets, score)}/{len(gt)}" if spec is not None else f"QF {escape(qf)} input"
    return (f"<figure>{_img(png_uri(tile), f'{name} QF {qf} image {image_id}', 'tile')}"
            f"<figcaption><b>{escape(name)}</b> {found}</figcaption></figure>")


def strips_html(run: RunDir, score: float, device: str = "cpu") -> str:
    """Image strips for the largest-gain, largest-loss and median images (or why there are none)."""
    results = run.results
    baseline = results["enhancers"][0]
    source = StripSource(run, device)
    try:
        gts = source.ground_truth()
    except StripSourceError as exc:
        return f"<p class='na'>No image strips: {escape(str(exc))}</p>"
    dets = {(r["qf"], r["enhancer_spec"]): run.detections(r["qf"], r["enhancer_spec"]) for r in results["runs"]}
    empty = np.zeros((0, 5))
    qfs = plotting.qf_order(results["qfs"])
    parts = [f"<p>Degraded input and each enhancer's output, cropped around faces and enlarged (nearest neighbour). "
             f"<span style='color:rgb{GT_COLOR}'>Green</span>: ground truth; <span style='color:rgb{DET_COLOR}'>"
             f"magenta</span>: detections with detector score &ge; {score:g}. 'found k/M': ground-truth faces "
             f"overlapped with IoU &ge; 0.5 by such a detection. Images chosen by the mean change in faces found "
             f"vs {escape(baseline)} over the other enhancers and every QF.</p>"]
    for chosen in choose_images(image_gains(gts, dets, baseline, score)):
        gt = gts[chosen.image_id]
        height, width = source.degraded(qfs[0], chosen.image_id).shape[:2]
        window = crop_window(gt, width, height)
        scale = max(1, round(_TILE_WIDTH / (window[2] - window[0])))
        parts.append(f"<h4>{escape(chosen.role)}: image {escape(chosen.image_id)} (mean change in faces found "
                     f"{chosen.gain:+.2f}; crop x {window[0]}..{window[2]}, y {window[1]}..{window[3]}, shown {scale}x)"
                     "</h4>")
        for qf in qfs:
            tiles = [_tile(source, qf, None, chosen.image_id, window, gt, empty, score, scale)]
            tiles += [_tile(source, qf, spec, chosen.image_id, window, gt, dets[(qf, spec)].get(chosen.image_id, empty),
                            score, scale) for spec in results["enhancers"]]
            parts.append(f"<div class='strip'><div class='qf'>QF {escape(qf)}</div>{''.join(tiles)}</div>")
    return "".join(parts)


def run_section(run: RunDir, score: float, device: str = "cpu", strips: bool = True) -> str:
    """The whole report section of one run directory."""
    results = run.results
    tables = "".join(table_html(results, p) for p in PROTOCOLS)
    return (f"<h2>Run {escape(str(run.path))}</h2>{provenance_html(results)}"
            f"<h3>Table VII: mAP at IoU 0.3 / 0.5 / 0.7 [95% bootstrap CI]; best per column highlighted</h3>"
            f"{tables}{figures_html(results)}"
            + (f"<h3>Image strips</h3>{strips_html(run, score, device)}" if strips else ""))


def build_report(runs: Sequence[RunDir], score: float = 0.5, device: str = "cpu", strips: bool = True,
                 command: str = "") -> str:
    """The complete HTML document for `runs`."""
    synthetic = any(r.results["synthetic_data"] for r in runs)
    sections: List[str] = [run_section(run, score, device, strips) for run in runs]
    made = datetime.now(timezone.utc).isoformat(timespec="seconds")
    header = (f"<h1>facebench report{' (SYNTHETIC data)' if synthetic else ''}</h1>"
              f"<p>Made by facebench {escape(__version__)} at {made} from {len(runs)} run director"
              f"{'y' if len(runs) == 1 else 'ies'}{': <code>' + escape(command) + '</code>' if command else ''}. "
              "Every number is read from results.json; nothing is recomputed.</p>")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>facebench report</title>"
            f"<style>{_CSS}</style></head><body>{header}{''.join(sections)}</body></html>\n")

