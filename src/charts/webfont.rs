//! The charts' embedded CJK font for HTML pages: each page carries a subset
//! with exactly the characters it uses, as a data-URI `@font-face`, so its
//! Chinese text renders on a machine without CJK fonts and the page stays one
//! self-contained file.
//!
//! The subsetter keeps what a browser needs of a TrueType (`glyf`) face: the
//! used glyphs renumbered from 1 (with the components of composite glyphs),
//! their metrics, a format-4 `cmap` for the kept characters, and the face's
//! `head`, `hhea`, `maxp`, `OS/2`, `name` (its copyright), `post` (without
//! glyph names) and hinting tables. Layout tables (`GSUB`, `GPOS`) and
//! vertical metrics are dropped: the pages set horizontal text only.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use ttf_parser::{Face, RawFace, Tag};

use super::theme::FONT_BYTES;

/// The CSS family name of the embedded subset; pages list it first.
pub const FAMILY: &str = "Aftersight CJK";

/// The bundled font could not be subset (a bug, or a font that is not TrueType).
#[derive(Debug, thiserror::Error)]
#[error("embedding the page font: {0}")]
pub struct WebFontError(String);

/// Inserts a `@font-face` with the characters of `html` outside ASCII before
/// its `</head>`; ASCII stays with the reader's own fonts. A page without
/// such characters is returned as it is.
pub fn embed_font(html: &str) -> Result<String, WebFontError> {
    let chars: BTreeSet<char> = html.chars().filter(|c| !c.is_ascii()).collect();
    let Some(head_end) = html.find("</head>") else {
        return Err(WebFontError("the page has no </head>".into()));
    };
    if chars.is_empty() {
        return Ok(html.to_owned());
    }
    let font = subset(FONT_BYTES, 0, &chars)?;
    let style = format!(
        "<style>@font-face{{font-family:\"{FAMILY}\";src:url(data:font/ttf;base64,{}) format(\"truetype\")}}</style>\n",
        base64::engine::general_purpose::STANDARD.encode(font)
    );
    let mut out = String::with_capacity(html.len() + style.len());
    out.push_str(&html[..head_end]);
    out.push_str(&style);
    out.push_str(&html[head_end..]);
    Ok(out)
}

/// A TrueType font with the glyphs of `chars` that face `index` of `data`
/// has (characters it lacks are left out, and outside the Basic
/// Multilingual Plane too: the `cmap` is format 4).
pub fn subset(data: &[u8], index: u32, chars: &BTreeSet<char>) -> Result<Vec<u8>, WebFontError> {
    let bad = |what: &str| WebFontError(format!("the bundled font: {what}"));
    let face = Face::parse(data, index).map_err(|e| bad(&e.to_string()))?;
    let raw = RawFace::parse(data, index).map_err(|e| bad(&e.to_string()))?;
    let table = |tag: &[u8; 4]| raw.table(Tag::from_bytes(tag));
    let need = |tag: &[u8; 4]| {
        table(tag).ok_or_else(|| bad(&format!("no `{}` table", String::from_utf8_lossy(tag))))
    };
    let (head, hhea, maxp, hmtx, loca, glyf) = (
        need(b"head")?,
        need(b"hhea")?,
        need(b"maxp")?,
        need(b"hmtx")?,
        need(b"loca")?,
        need(b"glyf")?,
    );
    let glyphs =
        Glyphs::new(head, loca, glyf, face.number_of_glyphs()).ok_or_else(|| bad("loca"))?;

    // Characters to keep, and the closure of their glyphs over composites.
    let mapped: Vec<(u16, u16)> = chars
        .iter()
        .filter(|&&c| (c as u32) < 0xFFFF)
        .filter_map(|&c| Some((c as u16, face.glyph_index(c)?.0)))
        .filter(|&(_, g)| g != 0)
        .collect();
    let mut keep: BTreeSet<u16> = std::iter::once(0)
        .chain(mapped.iter().map(|m| m.1))
        .collect();
    let mut todo: Vec<u16> = keep.iter().copied().collect();
    while let Some(g) = todo.pop() {
        for component in glyphs
            .components(g)
            .ok_or_else(|| bad("a composite glyph"))?
        {
            if keep.insert(component) {
                todo.push(component);
            }
        }
    }
    let new_id: BTreeMap<u16, u16> = keep
        .iter()
        .enumerate()
        .map(|(i, &g)| (g, i as u16))
        .collect();

    // glyf, loca (long offsets) and hmtx in the new order.
    let metrics = HMetrics::new(hhea, hmtx).ok_or_else(|| bad("hmtx"))?;
    let (mut new_glyf, mut new_loca, mut new_hmtx) = (Vec::new(), Vec::new(), Vec::new());
    for &g in &keep {
        new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
        let mut outline = glyphs.data(g).ok_or_else(|| bad("glyf"))?.to_vec();
        glyphs
            .renumber_components(&mut outline, &new_id)
            .ok_or_else(|| bad("a composite glyph"))?;
        new_glyf.extend_from_slice(&outline);
        new_glyf.resize(new_glyf.len().next_multiple_of(4), 0);
        let (advance, lsb) = metrics.get(g).ok_or_else(|| bad("hmtx"))?;
        new_hmtx.extend_from_slice(&advance.to_be_bytes());
        new_hmtx.extend_from_slice(&lsb.to_be_bytes());
    }
    new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
    let count = keep.len() as u16;

    let mut new_head = head.to_vec();
    patch(&mut new_head, 8, &0u32.to_be_bytes()).ok_or_else(|| bad("head"))?;
    patch(&mut new_head, 50, &1i16.to_be_bytes()).ok_or_else(|| bad("head"))?;
    let mut new_hhea = hhea.to_vec();
    patch(&mut new_hhea, 34, &count.to_be_bytes()).ok_or_else(|| bad("hhea"))?;
    let mut new_maxp = maxp.to_vec();
    patch(&mut new_maxp, 4, &count.to_be_bytes()).ok_or_else(|| bad("maxp"))?;
    // post version 3: the 32-byte header, no glyph names.
    let mut post = table(b"post")
        .unwrap_or(&[0; 32])
        .get(..32)
        .ok_or_else(|| bad("post"))?
        .to_vec();
    post[..4].copy_from_slice(&0x0003_0000u32.to_be_bytes());
    let cmap = cmap_format4(mapped.iter().map(|&(c, g)| (c, new_id[&g])))
        .ok_or_else(|| bad("too many characters for one page"))?;

    let mut tables: Vec<([u8; 4], Vec<u8>)> = vec![
        (*b"cmap", cmap),
        (*b"glyf", new_glyf),
        (*b"head", new_head),
        (*b"hhea", new_hhea),
        (*b"hmtx", new_hmtx),
        (*b"loca", new_loca),
        (*b"maxp", new_maxp),
        (*b"post", post),
    ];
    for tag in [b"OS/2", b"name", b"cvt ", b"fpgm", b"prep", b"gasp"] {
        if let Some(data) = table(tag) {
            tables.push((*tag, data.to_vec()));
        }
    }
    Ok(write_sfnt(tables))
}

/// Glyph outlines through `loca`.
struct Glyphs<'a> {
    glyf: &'a [u8],
    offsets: Vec<usize>,
}

/// Composite-glyph flags (OpenType `glyf` table).
const ARGS_ARE_WORDS: u16 = 0x0001;
const HAS_SCALE: u16 = 0x0008;
const MORE_COMPONENTS: u16 = 0x0020;
const HAS_XY_SCALE: u16 = 0x0040;
const HAS_2X2: u16 = 0x0080;

impl<'a> Glyphs<'a> {
    fn new(head: &[u8], loca: &[u8], glyf: &'a [u8], count: u16) -> Option<Self> {
        let long = i16::from_be_bytes(head.get(50..52)?.try_into().ok()?) == 1;
        let offsets = (0..=count as usize)
            .map(|i| {
                Some(if long {
                    u32::from_be_bytes(loca.get(4 * i..4 * i + 4)?.try_into().ok()?) as usize
                } else {
                    2 * u16::from_be_bytes(loca.get(2 * i..2 * i + 2)?.try_into().ok()?) as usize
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Glyphs { glyf, offsets })
    }

    fn data(&self, g: u16) -> Option<&'a [u8]> {
        let g = g as usize;
        self.glyf
            .get(*self.offsets.get(g)?..*self.offsets.get(g + 1)?)
    }

    /// Byte positions of the component glyph ids of a composite glyph (none
    /// for a simple or empty glyph).
    fn component_positions(outline: &[u8]) -> Option<Vec<usize>> {
        if outline.len() < 10 || i16::from_be_bytes([outline[0], outline[1]]) >= 0 {
            return Some(Vec::new());
        }
        let mut positions = Vec::new();
        let mut at = 10;
        loop {
            let flags = u16::from_be_bytes(outline.get(at..at + 2)?.try_into().ok()?);
            outline.get(at + 2..at + 4)?;
            positions.push(at + 2);
            at += 4 + if flags & ARGS_ARE_WORDS != 0 { 4 } else { 2 };
            at += if flags & HAS_SCALE != 0 {
                2
            } else if flags & HAS_XY_SCALE != 0 {
                4
            } else if flags & HAS_2X2 != 0 {
                8
            } else {
                0
            };
            if flags & MORE_COMPONENTS == 0 {
                return Some(positions);
            }
        }
    }

    fn components(&self, g: u16) -> Option<Vec<u16>> {
        let outline = self.data(g)?;
        Self::component_positions(outline)?
            .into_iter()
            .map(|p| Some(u16::from_be_bytes(outline.get(p..p + 2)?.try_into().ok()?)))
            .collect()
    }

    fn renumber_components(&self, outline: &mut [u8], new_id: &BTreeMap<u16, u16>) -> Option<()> {
        for p in Self::component_positions(outline)? {
            let old = u16::from_be_bytes([outline[p], outline[p + 1]]);
            outline[p..p + 2].copy_from_slice(&new_id.get(&old)?.to_be_bytes());
        }
        Some(())
    }
}

/// Advance widths and left side bearings (`hmtx`, with `hhea`'s count of
/// full metrics: later glyphs repeat the last advance).
struct HMetrics<'a> {
    hmtx: &'a [u8],
    full: usize,
}

impl<'a> HMetrics<'a> {
    fn new(hhea: &[u8], hmtx: &'a [u8]) -> Option<Self> {
        let full = u16::from_be_bytes(hhea.get(34..36)?.try_into().ok()?) as usize;
        (full > 0).then_some(HMetrics { hmtx, full })
    }

    fn get(&self, g: u16) -> Option<(u16, i16)> {
        let g = g as usize;
        let read = |at: usize| {
            Some(u16::from_be_bytes(
                self.hmtx.get(at..at + 2)?.try_into().ok()?,
            ))
        };
        let advance = read(4 * g.min(self.full - 1))?;
        let lsb = if g < self.full {
            read(4 * g + 2)?
        } else {
            read(4 * self.full + 2 * (g - self.full))?
        };
        Some((advance, lsb as i16))
    }
}

/// Overwrites `bytes` at `at`, if the table is long enough.
fn patch(table: &mut [u8], at: usize, bytes: &[u8]) -> Option<()> {
    table.get_mut(at..at + bytes.len())?.copy_from_slice(bytes);
    Some(())
}

/// A `cmap` table with one format-4 subtable (Windows Unicode BMP, also
/// listed as Unicode BMP): a segment per run of consecutive characters
/// whose glyphs are consecutive, then the closing 0xFFFF segment.
fn cmap_format4(pairs: impl Iterator<Item = (u16, u16)>) -> Option<Vec<u8>> {
    let mut segments: Vec<(u16, u16, u16)> = Vec::new(); // start, end, first glyph
    for (c, g) in pairs {
        match segments.last_mut() {
            Some((start, end, first)) if *end + 1 == c && first.wrapping_add(c - *start) == g => {
                *end = c
            }
            _ => segments.push((c, c, g)),
        }
    }
    segments.push((0xFFFF, 0xFFFF, 0));
    let n = segments.len();
    let length = 16 + 8 * n;
    let seg_x2 = u16::try_from(2 * n).ok()?;
    let length = u16::try_from(length).ok()?;
    let selector = n.ilog2() as u16;
    let range = 2 * (1u16 << selector);
    let mut sub = Vec::with_capacity(length as usize);
    for v in [4, length, 0, seg_x2, range, selector, seg_x2 - range] {
        sub.extend_from_slice(&v.to_be_bytes());
    }
    segments
        .iter()
        .for_each(|s| sub.extend_from_slice(&s.1.to_be_bytes()));
    sub.extend_from_slice(&0u16.to_be_bytes());
    segments
        .iter()
        .for_each(|s| sub.extend_from_slice(&s.0.to_be_bytes()));
    for &(start, _, first) in &segments {
        // The closing segment maps 0xFFFF to glyph 0.
        let delta = if start == 0xFFFF {
            1
        } else {
            first.wrapping_sub(start)
        };
        sub.extend_from_slice(&delta.to_be_bytes());
    }
    segments
        .iter()
        .for_each(|_| sub.extend_from_slice(&0u16.to_be_bytes()));

    let mut cmap = Vec::with_capacity(20 + sub.len());
    for v in [0u16, 2, 0, 3] {
        cmap.extend_from_slice(&v.to_be_bytes());
    }
    cmap.extend_from_slice(&20u32.to_be_bytes());
    for v in [3u16, 1] {
        cmap.extend_from_slice(&v.to_be_bytes());
    }
    cmap.extend_from_slice(&20u32.to_be_bytes());
    cmap.extend_from_slice(&sub);
    Some(cmap)
}

/// An sfnt file: the table directory sorted by tag, tables padded to four
/// bytes with their checksums, and `head`'s whole-font checksum adjustment.
fn write_sfnt(mut tables: Vec<([u8; 4], Vec<u8>)>) -> Vec<u8> {
    tables.sort_by_key(|t| t.0);
    let n = tables.len() as u16;
    let selector = n.ilog2() as u16;
    let range = 16 * (1u16 << selector);
    let mut out = Vec::new();
    out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    for v in [n, range, selector, 16 * n - range] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    let mut offset = 12 + 16 * tables.len();
    let mut head_at = None;
    for (tag, data) in &tables {
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        if tag == b"head" {
            head_at = Some(offset);
        }
        offset += data.len().next_multiple_of(4);
    }
    for (_, data) in &tables {
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    if let Some(at) = head_at {
        let adjustment = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
        out[at + 8..at + 12].copy_from_slice(&adjustment.to_be_bytes());
    }
    out
}

/// The sfnt checksum: the sum of big-endian `u32`s, the last one zero-padded.
fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, chunk| {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outline(face: &Face, c: char) -> String {
        struct Path(String);
        impl ttf_parser::OutlineBuilder for Path {
            fn move_to(&mut self, x: f32, y: f32) {
                self.0 += &format!("M{x} {y}");
            }
            fn line_to(&mut self, x: f32, y: f32) {
                self.0 += &format!("L{x} {y}");
            }
            fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
                self.0 += &format!("Q{x1} {y1} {x} {y}");
            }
            fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
                self.0 += &format!("C{x1} {y1} {x2} {y2} {x} {y}");
            }
            fn close(&mut self) {
                self.0 += "Z";
            }
        }
        let g = face.glyph_index(c).unwrap();
        let mut path = Path(String::new());
        face.outline_glyph(g, &mut path);
        format!(
            "{path} advance {:?}",
            face.glyph_hor_advance(g),
            path = path.0
        )
    }

    #[test]
    fn a_subset_keeps_exactly_the_pages_characters_with_their_outlines() {
        let chars: BTreeSet<char> = "本月要点：保修储备金 · 哈弗H6 ¥"
            .chars()
            .filter(|c| !c.is_ascii())
            .collect();
        let font = subset(FONT_BYTES, 0, &chars).unwrap();
        let original = Face::parse(FONT_BYTES, 0).unwrap();
        let small = Face::parse(&font, 0).unwrap();
        for &c in &chars {
            assert_eq!(outline(&small, c), outline(&original, c), "{c}");
        }
        assert!(small.glyph_index('月').is_some() && small.glyph_index('年').is_none());
        assert!(small.glyph_index('H').is_none(), "ASCII was not asked for");
        // The .notdef glyph, one per character and the components of composite
        // ideographs (this face builds many from shared radicals): a few dozen of 49,531.
        let kept = small.number_of_glyphs() as usize;
        assert!(
            (chars.len() + 1..=3 * chars.len() + 1).contains(&kept),
            "{kept}"
        );
        assert!(font.len() < 20_000, "{} bytes", font.len());
        // The whole-font checksum comes out as the format requires.
        assert_eq!(checksum(&font), 0xB1B0_AFBA);
    }

    #[test]
    fn a_page_gets_a_font_face_before_its_head_ends() {
        let page = "<html><head><title>t</title></head><body>本月要点</body></html>";
        let html = embed_font(page).unwrap();
        let (head, body) = html.split_once("</head>").unwrap();
        assert!(
            head.contains(
                "@font-face{font-family:\"Aftersight CJK\";src:url(data:font/ttf;base64,"
            )
        );
        assert_eq!(body, "<body>本月要点</body></html>");
        let ascii = "<html><head></head><body>plain</body></html>";
        assert_eq!(embed_font(ascii).unwrap(), ascii);
        assert!(embed_font("<p>本</p>").is_err());
    }

    #[test]
    fn composite_glyphs_bring_their_components() {
        // Accented Latin letters are composites in this face.
        let original = Face::parse(FONT_BYTES, 0).unwrap();
        let raw = RawFace::parse(FONT_BYTES, 0).unwrap();
        let glyphs = Glyphs::new(
            raw.table(Tag::from_bytes(b"head")).unwrap(),
            raw.table(Tag::from_bytes(b"loca")).unwrap(),
            raw.table(Tag::from_bytes(b"glyf")).unwrap(),
            original.number_of_glyphs(),
        )
        .unwrap();
        let composite = ('\u{a0}'..'\u{3000}')
            .find(|&c| {
                original
                    .glyph_index(c)
                    .is_some_and(|g| !glyphs.components(g.0).unwrap().is_empty())
            })
            .expect("a composite glyph in the face");
        let font = subset(FONT_BYTES, 0, &BTreeSet::from([composite])).unwrap();
        let small = Face::parse(&font, 0).unwrap();
        assert!(
            small.number_of_glyphs() > 2,
            "{composite} and its components"
        );
        assert_eq!(outline(&small, composite), outline(&original, composite));
    }
}
