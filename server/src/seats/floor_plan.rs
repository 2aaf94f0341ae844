//! SVG floor plans of `[[seats.maps]]`: read once at start and refused unless they only draw.
//!
//! The seat page may be public and inlines the plan to colour its PCs, so a plan is checked
//! here rather than trusted: no scripts, no event-handler attributes, no embedded HTML, no
//! links or styles that fetch from elsewhere. The element ids are the host names it places.

use std::path::Path;

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// The largest plan accepted.
pub const MAX_BYTES: usize = 2 << 20;

/// Elements a plan may not hold: they run code or embed other documents.
const FORBIDDEN: [&str; 8] = [
    "script",
    "foreignobject",
    "iframe",
    "object",
    "embed",
    "audio",
    "video",
    "handler",
];

/// A checked plan.
#[derive(Debug, Clone)]
pub struct FloorPlan {
    /// The SVG text, as the file holds it.
    pub svg: String,
    /// The ids of its elements, in document order.
    pub ids: Vec<String>,
}

/// Reads and checks the plan at `path`.
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
    let ids = check(&svg).map_err(|why| format!("the floor plan {shown} {why}"))?;
    Ok(FloorPlan { svg, ids })
}

/// The ids of `svg`'s elements if it only draws; else what it holds that it may not.
///
/// # Errors
/// A phrase starting with a verb, to follow the plan's name.
pub fn check(svg: &str) -> Result<Vec<String>, String> {
    let mut reader = Reader::from_str(svg);
    let mut ids = Vec::new();
    let mut root = None;
    let mut in_style = false;
    loop {
        let event = reader.read_event().map_err(|e| {
            format!(
                "is not well-formed XML at byte {}: {e}",
                reader.error_position()
            )
        })?;
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let name = local_name(&e);
                if root.is_none() {
                    if name != "svg" {
                        return Err(format!(
                            "starts with <{name}>, not <svg>; export the plan as SVG"
                        ));
                    }
                    root = Some(());
                }
                if FORBIDDEN.contains(&name.as_str()) {
                    return Err(format!(
                        "holds a <{name}> element; a floor plan may only draw (remove it)"
                    ));
                }
                in_style = name == "style";
                for attr in e.attributes() {
                    let attr = attr.map_err(|e| format!("has a malformed attribute: {e}"))?;
                    let key = attr.key.local_name().as_ref().to_lowercase();
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| format!("has a malformed attribute value: {e}"))?;
                    if key.starts_with("on") {
                        return Err(format!(
                            "gives <{name}> an event handler ({key}); remove the attribute"
                        ));
                    }
                    if key == "href" && !value.trim_start().starts_with('#') {
                        return Err(format!(
                            "links <{name}> to {value:?}; a plan may only refer to its own \
                             elements (href=\"#id\"): embed nothing from elsewhere"
                        ));
                    }
                    if key == "style" {
                        check_style(&value)?;
                    }
                    if key == "id" && !value.trim().is_empty() {
                        ids.push(value.trim().to_owned());
                    }
                }
            }
            Event::End(_) => in_style = false,
            Event::Text(t) if in_style => {
                check_style(&t)?;
            }
            Event::CData(t) if in_style => {
                check_style(&t)?;
            }
            Event::DocType(_) => {
                return Err("has a <!DOCTYPE>; remove it (entities are not accepted)".to_owned());
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if root.is_none() {
        return Err("holds no <svg> element; export the plan as SVG".to_owned());
    }
    Ok(ids)
}

fn local_name(e: &BytesStart<'_>) -> String {
    e.local_name().as_ref().to_lowercase()
}

/// Styles may colour and place, never fetch or run.
fn check_style(css: &str) -> Result<(), String> {
    let lower = css.to_lowercase();
    for needle in ["url(", "@import", "javascript:", "expression("] {
        if lower.contains(needle) {
            return Err(format!(
                "has a style using {needle:?}; a plan's styles may not load anything (remove it)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drawing_passes_with_its_ids() {
        let svg = r##"<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 100 50">
  <style>.desk { stroke: #333 }</style>
  <defs><rect id="desk" width="20" height="10"/></defs>
  <g id="PC01"><rect class="desk" x="0" y="0" width="20" height="10"/><text>PC01</text></g>
  <use id="PC02" xlink:href="#desk" x="30"/>
</svg>"##;
        assert_eq!(check(svg).unwrap(), ["desk", "PC01", "PC02"]);
    }

    #[test]
    fn code_and_outside_references_are_refused() {
        let cases = [
            (r#"<svg><script>alert(1)</script></svg>"#, "<script>"),
            (r#"<svg onload="alert(1)"/>"#, "onload"),
            (r#"<svg><g><rect ONCLICK="x()"/></g></svg>"#, "onclick"),
            (
                r#"<svg><foreignObject><div/></foreignObject></svg>"#,
                "<foreignobject>",
            ),
            (
                r#"<svg><image href="http://evil.example/a.png"/></svg>"#,
                "evil.example",
            ),
            (
                r#"<svg><a xlink:href="javascript:x()"><rect/></a></svg>"#,
                "javascript",
            ),
            (r#"<svg><rect style="fill:url(http://x/y)"/></svg>"#, "url("),
            (r#"<svg><style>@import "x.css";</style></svg>"#, "@import"),
            (r#"<!DOCTYPE svg [<!ENTITY e "x">]><svg/>"#, "DOCTYPE"),
            (r#"<html><svg/></html>"#, "<html>"),
            (r#"<svg><rect></svg>"#, "well-formed"),
            ("", "no <svg>"),
        ];
        for (svg, expected) in cases {
            let why = check(svg).unwrap_err();
            assert!(why.contains(expected), "{svg}: {why}");
        }
    }

    #[test]
    fn a_missing_or_huge_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.svg");
        assert!(load(&missing).unwrap_err().contains("none.svg"));
        let huge = dir.path().join("huge.svg");
        std::fs::write(&huge, format!("<svg>{}</svg>", " ".repeat(MAX_BYTES))).unwrap();
        assert!(load(&huge).unwrap_err().contains("bytes"));
    }
}
