//! SVG floor plans of `[[seats.maps]]`: read once at start and rewritten to drawing only.
//!
//! The seat page may be public and inlines the plan to colour its PCs, so the plan is never
//! served as given: it is parsed and written again with only SVG drawing elements from an
//! allow-list (shapes, text, groups, gradients, `use`) and only their geometry and
//! presentation attributes. Everything else — scripts, animation (which can set links), HTML
//! or any other namespace, event handlers, `<style>` sheets (they would style the whole page),
//! links other than to the plan's own elements, values that load anything (`url(` other than
//! `url(#…)`, `data:`, `javascript:`, CSS escapes) — is dropped, and what was dropped is
//! logged once at start. Attribute values are checked after entity decoding and written back
//! escaped, so the browser reads exactly what was checked. The element ids are the host names
//! the plan places.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use quick_xml::escape::escape;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// The largest plan accepted.
pub const MAX_BYTES: usize = 2 << 20;

const SVG_NS: &str = "http://www.w3.org/2000/svg";
const XLINK_NS: &str = "http://www.w3.org/1999/xlink";

/// SVG elements kept (with their allowed attributes).
const ELEMENTS: [&str; 25] = [
    "svg",
    "g",
    "defs",
    "symbol",
    "use",
    "rect",
    "circle",
    "ellipse",
    "line",
    "polyline",
    "polygon",
    "path",
    "text",
    "tspan",
    "textPath",
    "title",
    "desc",
    "linearGradient",
    "radialGradient",
    "stop",
    "clipPath",
    "mask",
    "pattern",
    "marker",
    "switch",
];

/// Elements whose content is kept although the element is not: a link around a desk.
const UNWRAPPED: [&str; 1] = ["a"];

/// Attributes kept (no namespace, or `xlink:href`).
const ATTRIBUTES: [&str; 62] = [
    "id",
    "class",
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "cx",
    "cy",
    "r",
    "rx",
    "ry",
    "fx",
    "fy",
    "width",
    "height",
    "points",
    "d",
    "transform",
    "viewBox",
    "preserveAspectRatio",
    "fill",
    "fill-opacity",
    "fill-rule",
    "stroke",
    "stroke-width",
    "stroke-opacity",
    "stroke-dasharray",
    "stroke-dashoffset",
    "stroke-linecap",
    "stroke-linejoin",
    "stroke-miterlimit",
    "opacity",
    "font-size",
    "font-family",
    "font-weight",
    "font-style",
    "text-anchor",
    "dominant-baseline",
    "alignment-baseline",
    "letter-spacing",
    "dx",
    "dy",
    "rotate",
    "textLength",
    "offset",
    "stop-color",
    "stop-opacity",
    "gradientUnits",
    "gradientTransform",
    "spreadMethod",
    "patternUnits",
    "patternTransform",
    "clip-path",
    "clipPathUnits",
    "mask",
    "marker-start",
    "marker-mid",
    "marker-end",
    "visibility",
    "style",
];

/// A plan ready to serve.
#[derive(Debug, Clone)]
pub struct FloorPlan {
    /// The plan rewritten to drawing only.
    pub svg: String,
    /// The ids of its elements, in document order.
    pub ids: Vec<String>,
    /// What was dropped from the file (element and attribute names), for the start-up log.
    pub dropped: BTreeSet<String>,
}

/// Reads the plan at `path` and rewrites it.
///
/// # Errors
/// What is wrong with it and what to do, naming the file.
pub fn load(path: &Path) -> Result<FloorPlan, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| {
        format!("cannot read the floor plan {shown}: {e}; check the path and its permissions")
    })?;
    if bytes.len() > MAX_BYTES {
        return Err(format!(
            "the floor plan {shown} is {} bytes; plans up to {MAX_BYTES} bytes are accepted \
             (save it as plain SVG without embedded images)",
            bytes.len()
        ));
    }
    let svg = String::from_utf8(bytes)
        .map_err(|_| format!("the floor plan {shown} is not UTF-8 text; save it as plain SVG"))?;
    clean(&svg).map_err(|why| format!("the floor plan {shown} {why}"))
}

/// Whether an attribute value can load or run nothing: no scheme that runs or embeds, no CSS
/// escape or at-rule, and `url(` only to the plan's own elements.
fn harmless(value: &str) -> bool {
    let lower: String = value
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if [
        "javascript:",
        "data:",
        "vbscript:",
        "\\",
        "@",
        "expression(",
        "image-set(",
    ]
    .iter()
    .any(|bad| lower.contains(bad))
    {
        return false;
    }
    lower.match_indices("url(").all(|(at, _)| {
        lower[at + 4..]
            .trim_start_matches(['"', '\''])
            .starts_with('#')
    })
}

/// Whether `(namespace, local)` of an element is SVG (or in no namespace, read as SVG).
fn is_svg(ns: &ResolveResult<'_>) -> bool {
    match ns {
        ResolveResult::Bound(ns) => ns.as_ref() == SVG_NS,
        ResolveResult::Unbound => true,
        ResolveResult::Unknown(_) => false,
    }
}

/// `svg` rewritten to drawing only.
///
/// # Errors
/// A phrase starting with a verb, to follow the plan's name.
pub fn clean(svg: &str) -> Result<FloorPlan, String> {
    let mut reader = NsReader::from_str(svg);
    let mut out = String::with_capacity(svg.len());
    let mut ids = Vec::new();
    let mut dropped = BTreeSet::new();
    // Per open element: whether it was written (false: dropped or unwrapped).
    let mut open: Vec<bool> = Vec::new();
    // Depth of the dropped subtree we are in (0: none).
    let mut skipping = 0usize;
    let mut root = false;
    loop {
        let (svg_ns, event) = match reader.read_resolved_event() {
            Ok((ns, event)) => (is_svg(&ns), event),
            Err(e) => {
                return Err(format!(
                    "is not well-formed XML at byte {}: {e}",
                    reader.error_position()
                ));
            }
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let local = e.local_name().as_ref().to_owned();
                if !root {
                    if local != "svg" || !svg_ns {
                        return Err(format!(
                            "starts with <{}>, not <svg>; export the plan as SVG",
                            e.name().as_ref()
                        ));
                    }
                    root = true;
                }
                if skipping > 0 {
                    if !empty {
                        skipping += 1;
                    }
                    continue;
                }
                let svg_element = svg_ns;
                if svg_element && ELEMENTS.contains(&local.as_str()) {
                    let first = out.is_empty();
                    write_start(&mut out, &local, e, &reader, first, &mut ids, &mut dropped)?;
                    if empty {
                        out.push_str("/>");
                    } else {
                        out.push('>');
                        open.push(true);
                    }
                } else if svg_element && UNWRAPPED.contains(&local.as_str()) {
                    dropped.insert(format!("<{local}> (its content kept)"));
                    if !empty {
                        open.push(false);
                    }
                } else {
                    dropped.insert(format!("<{}>", e.name().as_ref()));
                    if !empty {
                        skipping = 1;
                    }
                }
            }
            Event::End(e) => {
                if skipping > 0 {
                    skipping -= 1;
                    continue;
                }
                if open.pop() == Some(true) {
                    let _ = write!(out, "</{}>", e.local_name().as_ref());
                }
            }
            Event::Text(t) if skipping == 0 && !open.is_empty() => {
                out.push_str(&escape(&*t));
            }
            Event::CData(t) if skipping == 0 && !open.is_empty() => {
                out.push_str(&escape(&*t));
            }
            Event::GeneralRef(r) if skipping == 0 && !open.is_empty() => {
                match r.resolve_char_ref() {
                    Ok(Some(c)) => out.push_str(&escape(c.to_string())),
                    _ => match &*r {
                        "lt" => out.push_str("&lt;"),
                        "gt" => out.push_str("&gt;"),
                        "amp" => out.push_str("&amp;"),
                        "quot" => out.push_str("&quot;"),
                        "apos" => out.push_str("&apos;"),
                        other => {
                            dropped.insert(format!("&{other};"));
                        }
                    },
                }
            }
            Event::DocType(_) => {
                return Err("has a <!DOCTYPE>; remove it (entities are not accepted)".to_owned());
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !root {
        return Err("holds no <svg> element; export the plan as SVG".to_owned());
    }
    Ok(FloorPlan {
        svg: out,
        ids,
        dropped,
    })
}

/// Writes `<local` and its allowed attributes (the root gets the SVG namespace).
fn write_start(
    out: &mut String,
    local: &str,
    e: &BytesStart<'_>,
    reader: &NsReader<&[u8]>,
    root: bool,
    ids: &mut Vec<String>,
    dropped: &mut BTreeSet<String>,
) -> Result<(), String> {
    let _ = write!(out, "<{local}");
    if root {
        let _ = write!(out, " xmlns=\"{SVG_NS}\"");
    }
    for attr in e.attributes() {
        let attr = attr.map_err(|e| format!("has a malformed attribute: {e}"))?;
        let (ns, name) = reader.resolver().resolve_attribute(attr.key);
        let name = name.as_ref();
        if attr.key.as_ref().starts_with("xmlns") {
            continue;
        }
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| format!("has a malformed attribute value: {e}"))?;
        let xlink = matches!(&ns, ResolveResult::Bound(n) if n.as_ref() == XLINK_NS);
        let plain = matches!(ns, ResolveResult::Unbound);
        let kept = if name == "href" && (plain || xlink) {
            value.trim_start().starts_with('#').then_some("href")
        } else if plain && ATTRIBUTES.contains(&name) && harmless(&value) {
            Some(name)
        } else {
            None
        };
        match kept {
            Some(key) => {
                if key == "id" && !value.trim().is_empty() {
                    ids.push(value.trim().to_owned());
                }
                let _ = write!(out, " {key}=\"{}\"", escape(value.as_ref()));
            }
            None => {
                dropped.insert(format!("{}=", attr.key.as_ref()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
