"""Words out of place on the executive pages of an output root (issue 31): the rule of the bundled-sample test
(tests/it/support.rs, `words_out_of_place`) applied to any run, for example at scale 1.

    python benches/page_words.py OUT     # OUT of `aftersight run --out OUT`

Prints each page with its size, its embedded font's size and the words a reader should not see: snake_case keys on
either page; on the Chinese page any Latin word but those of the registry's Chinese names (哈弗H6), station ids and
the abbreviations kept as they are. Exits 1 when a page has one.
"""
import base64
import html
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AS_THEY_ARE = {"aftersight", "UTC", "CSI", "NPS", "B10", "pt", "p", "delta", "Benjamini-Hochberg"}


def latin_words(text):
    words = re.split(r"[^A-Za-z0-9_\-]", text)
    return [w.strip("-") for w in words if w.strip("-")[:1].isalpha() and w.strip("-")[:1].isascii()]


def visible_text(page):
    page = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def main(out):
    registry = (ROOT / "src/terms/terms.csv").read_text(encoding="utf-8").splitlines()
    chinese_names = {w for line in registry for w in latin_words(line.split(",")[3])}
    bad = 0
    for page in sorted(Path(out).glob("executive/period=*/summary*.html")):
        source = page.read_text(encoding="utf-8")
        font = re.search(r"base64,([A-Za-z0-9+/=]+)\) format", source)
        font_bytes = len(base64.b64decode(font.group(1))) if font else 0
        chinese = page.name == "summary.zh.html"
        words = sorted({
            w for w in latin_words(visible_text(source))
            if "_" in w or (chinese and w not in AS_THEY_ARE and w not in chinese_names
                            and not re.fullmatch(r"ST\d{6}", w))
        })
        bad += bool(words)
        print(f"{page}: {len(source) / 1e6:.2f} MB, font {font_bytes / 1e3:.0f} KB, out of place: {words or 'none'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
