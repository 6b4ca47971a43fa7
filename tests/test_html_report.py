"""`facebench report` end to end: a real two-QF, four-enhancer run (RetinaFace, embedded set) -> one HTML file.

Checks: the file parses, every embedded image decodes, every table number equals results.json, the
strips re-created from the dataset equal the ones from `--save-enhanced`, and (where Debian's chromium
is installed) a headless browser shows every image.
"""
import base64
import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from facebench.cli import main
from facebench.evaluation import ap_entry

CHROMIUM = Path("/usr/bin/chromium")
SPECS = ["none", "gamma", "clahe", "he"]
_VOID = {"meta", "img", "br", "hr", "input", "link"}


class _Page(HTMLParser):
    """Collects images, Table VII cells and headings, and checks that every element is closed in order."""

    def __init__(self):
        super().__init__()
        self.stack, self.images, self.cells, self.headings, self.links = [], [], [], [], []
        self._cell = self._heading = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.links += [v for k, v in attrs.items() if k in ("href", "src") and not v.startswith("data:")]
        if tag == "img":
            self.images.append(attrs["src"])
        if tag not in _VOID:
            self.stack.append(tag)
        if tag == "td" and "data-value" in attrs:
            self._cell = {**attrs, "text": ""}
        if tag == "h4":
            self._heading = ""

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()
        if tag == "td" and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None
        if tag == "h4":
            self.headings.append(self._heading)
            self._heading = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data + " "
        if self._heading is not None:
            self._heading += data


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    assert page.stack == [], f"unclosed elements: {page.stack}"
    return page


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """One eval run saved with --save-enhanced, a copy without enhanced/, and a report of each."""
    tmp = tmp_path_factory.mktemp("report")
    saved = tmp / "saved"
    args = ["eval", "--limit", "4", "--qf", "90", "--qf", "60", "--out", str(saved), "--cache-dir", str(tmp / "cache"),
            "--bootstrap", "50", "--workers", "0", "--device", "cpu", "--no-progress", "--save-enhanced"]
    for spec in SPECS:
        args += ["--enhancer", spec]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    recreated = tmp / "recreated"
    shutil.copytree(saved, recreated, ignore=shutil.ignore_patterns("enhanced"))
    paths = {}
    for name in ("saved", "recreated"):
        paths[name] = tmp / f"{name}.html"
        out = CliRunner().invoke(main, ["report", str(tmp / name), "--out", str(paths[name]), "--score", "0.3"],
                                 catch_exceptions=False)
        assert out.exit_code == 0, out.output
    return {"paths": paths, "results": json.loads((saved / "results.json").read_text()), "tmp": tmp}


def test_one_self_contained_file_whose_images_all_decode(reports):
    page = _parse(reports["paths"]["saved"])
    assert page.links == [], "the report must not reference files or the network"
    assert len(page.images) >= 5 + 3 * 2 * (1 + len(SPECS))  # figures + 3 strips x 2 QFs x (input + enhancers)
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        image = cv2.imdecode(np.frombuffer(base64.b64decode(src.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape[0] > 20 and image.shape[1] > 20


def test_every_table_number_equals_results_json(reports):
    results = reports["results"]
    runs = {(r["enhancer_spec"], r["qf"]): r for r in results["runs"]}
    cells = _parse(reports["paths"]["saved"]).cells
    assert len(cells) == 2 * len(SPECS) * 2 * 3  # protocols x enhancers x QFs x IoUs
    for cell in cells:
        entry = ap_entry(runs[(cell["data-enhancer"], cell["data-qf"])]["metrics"], cell["data-protocol"],
                         float(cell["data-iou"]))
        assert float(cell["data-value"]) == entry["ap"]
        shown = [float(v) for v in re.findall(r"\d+\.\d+", cell["text"])]
        assert shown == [round(v, 4) for v in [entry["ap"], *entry["ci"]]]
    for protocol in ("official", "coco"):
        for qf in results["qfs"]:
            for iou in ("0.3", "0.5", "0.7"):
                column = [c for c in cells if (c["data-protocol"], c["data-qf"], c["data-iou"]) == (protocol, qf, iou)]
                best = max(float(c["data-value"]) for c in column)
                assert {c["data-enhancer"] for c in column if "best" in c["class"]} == \
                       {c["data-enhancer"] for c in column if float(c["data-value"]) == best}


def test_sections_provenance_and_three_strips(reports):
    text = reports["paths"]["saved"].read_text(encoding="utf-8")
    results = reports["results"]
    assert "SYNTHETIC data" in text and results["dataset"]["content_sha256"] in text
    assert results["detector"]["weights"]["sha256"] in text and html.escape(results["command"]) in text
    for title in ("AP vs JPEG quality factor", "Precision-recall curves per QF", "AP by face size",
                  "Paired differences vs the baseline", "Image strips"):
        assert title in text
    strips = [h for h in _parse(reports["paths"]["saved"]).headings if h.split(":")[0] in
              ("largest gain", "largest loss", "median")]
    assert [h.split(":")[0] for h in strips] == ["largest gain", "largest loss", "median"]
    assert len({re.search(r"image (\S+)", h).group(1) for h in strips}) == 3
    assert "detector score &ge; 0.3" in text


def test_recreated_images_equal_the_saved_ones(reports):
    saved = _parse(reports["paths"]["saved"]).images
    recreated = _parse(reports["paths"]["recreated"]).images
    assert len(saved) == len(recreated) and saved == recreated


def test_several_run_directories_without_strips(reports, tmp_path):
    out = tmp_path / "both.html"
    dirs = [str(reports["tmp"] / name) for name in ("saved", "recreated")]
    result = CliRunner().invoke(main, ["report", *dirs, "--out", str(out), "--no-strips"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    page = _parse(out)
    assert len(page.cells) == 2 * 2 * len(SPECS) * 2 * 3 and "Image strips" not in out.read_text(encoding="utf-8")
    assert all(src.startswith("data:image/png;base64,") for src in page.images)


def test_refuses_a_folder_without_results(tmp_path):
    out = CliRunner().invoke(main, ["report", str(tmp_path), "--out", str(tmp_path / "r.html")])
    assert out.exit_code != 0 and "results.json: not found" in out.output


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                                  "(apt-get install chromium) for a headless screenshot")
def test_headless_chromium_shows_every_image(reports, tmp_path):
    report = reports["paths"]["saved"]
    flags = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "report.png"
    subprocess.run(flags + ["--window-size=1400,2400", f"--screenshot={shot}", report.as_uri()],
                   check=True, capture_output=True, timeout=180)
    screenshot = cv2.imread(str(shot))
    assert screenshot is not None and screenshot.shape[:2] == (2400, 1400) and screenshot.std() > 10
    probe = tmp_path / "probe.html"  # the report plus a script that lists images the browser could not show
    script = ("<script>window.addEventListener('load', () => {const bad = [...document.images].filter("
              "i => !i.complete || i.naturalWidth === 0).length; document.body.setAttribute('data-broken', bad); "
              "document.body.setAttribute('data-images', document.images.length);});</script>")
    probe.write_text(report.read_text(encoding="utf-8").replace("</body>", script + "</body>"), encoding="utf-8")
    dom = subprocess.run(flags + ["--virtual-time-budget=10000", "--dump-dom", probe.as_uri()], check=True,
                         capture_output=True, text=True, timeout=180).stdout
    counts = re.search(r'data-broken="(\d+)" data-images="(\d+)"', dom)
    assert counts, "the page's load handler did not run"
    assert int(counts.group(1)) == 0 and int(counts.group(2)) == len(_parse(report).images)
