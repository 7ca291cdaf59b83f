"""Rebuild the real-document eval set (data/realdocs/) from Debian's package archive.

    python scripts/build_realdocs.py OUT_DIR [--debs DIR]

Every document is a file that ships inside a Debian bookworm package, written by people
outside this project and under a free licence (data/realdocs/PROVENANCE.md has the table).
The script runs `apt-get download PKG=VERSION` (no root needed; registry access only),
extracts exactly the recorded member with `dpkg-deb --fsys-tarfile`, gunzips it when the
package ships it compressed, checks its sha256 and writes it to OUT_DIR under the name
the questions use. Nothing else is fetched: no web page, no model.

Two files are derived from those originals by this script, because no package we found
ships a scanned PDF or a Word file with real content:

  R-FAQ-scan.pdf           pages 7-10 of R-FAQ.pdf rendered to grey 150 dpi JPEGs, turned by
                           0.6 degrees, in an image-only PDF (no text layer: the app OCRs it)
  debconf_specification.docx  the Debian debconf specification (HTML) re-typed into Word with
                           python-docx: headings stay headings, tables stay tables

Their sha256 depends on the versions of PyMuPDF, Pillow (libjpeg) and python-docx; a
different hash is reported as a warning, not an error (the source hash is still checked).
The documents themselves are not committed (licences allow it, size argues against it).

--debs DIR: take the .deb files from DIR instead of downloading (they are checked the same
way); downloaded .deb files are kept in OUT_DIR/.debs so a second run downloads nothing.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

# (output name, package, version, member path inside the .deb, sha256 of the file as written)
SOURCES = [
    (
        "fhs-3.0.pdf",
        "debian-policy",
        "4.6.2.0",
        "usr/share/doc/debian-policy/fhs/fhs-3.0.pdf.gz",
        "53d239e569a2d7b31a74fa09d585368c0f5a164e4624723fa2894660dd10fd23",
    ),
    (
        "debian-reference.en.pdf",
        "debian-reference-en",
        "2.100",
        "usr/share/debian-reference/debian-reference.en.pdf",
        "32775deeca0770ac25282b0c894cbaae83f4dd4ab00e891b94e8f009c0366728",
    ),
    (
        "R-intro.pdf",
        "r-doc-pdf",
        "4.2.2.20221110-2",
        "usr/share/R/doc/manual/R-intro.pdf",
        "337ccd0b490b1e66f7e783b45f4588d0599730b4206c0c051edfe1419c568c51",
    ),
    (
        "policy.epub",
        "debian-policy",
        "4.6.2.0",
        "usr/share/doc/debian-policy/policy.epub",
        "3e47d49b3fce68c2c2c731a938c149a040887eefe11cbf50eeb8a03d19fe6ecb",
    ),
    (
        "copyright-format-1.0.html",
        "debian-policy",
        "4.6.2.0",
        "usr/share/doc/debian-policy/copyright-format-1.0.html",
        "db44ad348eb96d36388e515e5e091bd155b909eea8adeb17d6ff6935f0732d54",
    ),
]
# Sources of derived files only (not written to OUT_DIR themselves).
INPUTS = [
    (
        "R-FAQ.pdf",
        "r-doc-pdf",
        "4.2.2.20221110-2",
        "usr/share/R/doc/manual/R-FAQ.pdf",
        "de8768520d4fb90dad64c28483ffb92dca7dd9d8dc8556905b35c2e62a939255",
    ),
    (
        "debconf_specification.html",
        "debian-policy",
        "4.6.2.0",
        "usr/share/doc/debian-policy/debconf_specification.html",
        "1c3a2a44d84a3b608a5ed61913265f1e973b596e656f7ae06a83c242986911a5",
    ),
]
# (output name, made from, sha256 with PyMuPDF 2.0 / Pillow 12.3 / python-docx 1.2.0)
DERIVED = [
    (
        "R-FAQ-scan.pdf",
        "R-FAQ.pdf",
        "efbdb40c3ddf9c760384ac05f07dc435f5fd07bdb017efb3c37938f656d08427",
    ),
    (
        "debconf_specification.docx",
        "debconf_specification.html",
        "522a450339885f6477627857bec9958c0f00414967abb913995c2c08b1b4e6e5",
    ),
]
SCAN_PAGES = (7, 8, 9, 10)  # 1-based pages of R-FAQ.pdf that become the "scan"
SCAN_DPI, SCAN_ANGLE, SCAN_JPEG_QUALITY = 150, 0.6, 70
FIXED_ZIP_TIME = (2022, 12, 17, 0, 0, 0)  # debian-policy 4.6.2.0's date: a reproducible .docx


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def deb_file(package: str, version: str, debs: Path) -> Path:
    """The package's .deb in `debs`, downloaded with apt-get when it is not there yet."""
    found = sorted(debs.glob(f"{package}_{version.split(':')[-1]}_*.deb"))
    if found:
        return found[0]
    debs.mkdir(parents=True, exist_ok=True)
    print(f"apt-get download {package}={version}", flush=True)
    result = subprocess.run(
        ["apt-get", "download", f"{package}={version}"], cwd=debs, capture_output=True, text=True
    )
    found = sorted(debs.glob(f"{package}_{version.split(':')[-1]}_*.deb"))
    if result.returncode or not found:
        sys.exit(
            f"could not download {package}={version}: {result.stderr.strip()[-400:]}\n"
            "Run 'apt-get update' first; on a release other than Debian bookworm this exact "
            "version may be gone (snapshot.debian.org keeps every version)."
        )
    return found[0]


def deb_member(deb: Path, member: str) -> bytes:
    """One file from a .deb's data archive (dpkg-deb streams the tar, Python reads it)."""
    tar_bytes = subprocess.run(
        ["dpkg-deb", "--fsys-tarfile", str(deb)], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        for info in tar.getmembers():
            if info.name.lstrip("./") == member:
                data = tar.extractfile(info).read()
                return gzip.decompress(data) if member.endswith(".gz") else data
    sys.exit(f"{deb.name} has no {member}")


def fetch(entry, debs: Path) -> bytes:
    name, package, version, member, expected = entry
    data = deb_member(deb_file(package, version, debs), member)
    if sha256(data) != expected:
        sys.exit(
            f"{name}: sha256 {sha256(data)} from {package} {version} does not match the "
            f"recorded {expected}"
        )
    return data


# ---- derived files ---------------------------------------------------------------------


def make_scan(pdf: bytes) -> bytes:
    """Real pages rendered to images only: what a scanner would give (no text layer)."""
    import pymupdf
    from PIL import Image

    src = pymupdf.open(stream=pdf, filetype="pdf")
    out = pymupdf.open()
    for number in SCAN_PAGES:
        page = src[number - 1]
        pix = page.get_pixmap(dpi=SCAN_DPI, colorspace=pymupdf.csGRAY)
        image = Image.frombytes("L", (pix.width, pix.height), pix.samples)
        image = image.rotate(SCAN_ANGLE, resample=Image.BICUBIC, expand=False, fillcolor=255)
        jpeg = io.BytesIO()
        image.save(jpeg, "JPEG", quality=SCAN_JPEG_QUALITY)
        target = out.new_page(width=page.rect.width, height=page.rect.height)
        target.insert_image(target.rect, stream=jpeg.getvalue())
    out.set_metadata({"title": "R FAQ pages 7-10 (rendered to images by build_realdocs.py)"})
    return out.tobytes(garbage=3, deflate=True, no_new_id=True)


def make_docx(html: bytes) -> bytes:
    """The debconf specification's HTML re-typed into Word: h1-h4 become Heading 1-4,
    paragraphs, list items and preformatted text become paragraphs, tables become tables."""
    import docx
    from bs4 import BeautifulSoup, NavigableString

    soup = BeautifulSoup(html, "html.parser")
    document = docx.Document()
    document.core_properties.title = "Configuration management (debconf specification)"
    document.core_properties.author = "Wichert Akkerman, Joey Hess, Debian Policy Mailing List"
    stamp = datetime.datetime(*FIXED_ZIP_TIME)
    document.core_properties.created = document.core_properties.modified = stamp
    document.core_properties.last_modified_by = "build_realdocs.py"
    document.core_properties.revision = 1

    def text_of(node) -> str:
        return " ".join(node.get_text(" ").split())

    def walk(node) -> None:
        for child in node.children:
            if isinstance(child, NavigableString) or child.name is None:
                continue
            name = child.name.lower()
            classes = child.get("class") or []
            if name in ("script", "style", "head"):
                continue
            if name in ("h1", "h2", "h3", "h4", "h5", "h6"):
                text = text_of(child)
                if not text:
                    continue
                if child.find_parent(class_="author") or "author" in classes:
                    document.add_paragraph(text)  # author names are not sections
                else:
                    document.add_heading(text, level=min(int(name[1]), 4))
            elif name == "table":
                rows = [
                    [text_of(cell) for cell in tr.find_all(["th", "td"], recursive=False)]
                    for tr in child.find_all("tr")
                ]
                rows = [r for r in rows if any(r)]
                if not rows:
                    continue
                width = max(len(r) for r in rows)
                table = document.add_table(rows=len(rows), cols=width)
                table.style = "Table Grid"
                for i, row in enumerate(rows):
                    for j, cell in enumerate(row):
                        table.cell(i, j).text = cell
            elif name == "pre":
                paragraph = document.add_paragraph()
                run = paragraph.add_run(child.get_text().rstrip("\n"))
                run.font.name = "Courier New"
            elif name in ("p", "dt", "li") and not child.find(
                ["p", "pre", "table", "ul", "ol", "dl", "div"]
            ):
                text = text_of(child)
                if text:
                    document.add_paragraph(text, style="List Bullet" if name == "li" else None)
            else:
                walk(child)

    walk(soup.body or soup)
    raw = io.BytesIO()
    document.save(raw)
    # python-docx stamps every zip entry with the current time: rewrite it with a fixed one
    fixed = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src,
        zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    return fixed.getvalue()


MAKERS = {"R-FAQ-scan.pdf": make_scan, "debconf_specification.docx": make_docx}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument(
        "--debs",
        help="folder with the .deb files (default OUT/.debs, "
        "downloaded with apt-get download when missing)",
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    debs = Path(args.debs) if args.debs else out / ".debs"
    inputs = {}
    for entry in SOURCES:
        data = fetch(entry, debs)
        (out / entry[0]).write_bytes(data)
        print(f"ok   {entry[0]:30} {len(data):>9,} bytes  {entry[1]} {entry[2]}")
    for entry in INPUTS:
        inputs[entry[0]] = fetch(entry, debs)
    for name, source, expected in DERIVED:
        data = MAKERS[name](inputs[source])
        (out / name).write_bytes(data)
        same = sha256(data) == expected
        print(
            f"{'ok  ' if same else 'warn'} {name:30} {len(data):>9,} bytes  derived from "
            f"{source}"
            + (
                ""
                if same
                else f" (sha256 {sha256(data)} differs from the recorded "
                f"{expected}: other library versions; the text is "
                f"the same)"
            )
        )
    print(f"wrote {len(SOURCES) + len(DERIVED)} documents to {out}")


if __name__ == "__main__":
    main()
