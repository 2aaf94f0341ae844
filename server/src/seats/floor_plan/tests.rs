use super::*;

#[test]
fn a_drawing_keeps_its_shapes_text_and_ids() {
    let svg = r##"<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" viewBox="0 0 100 50">
  <defs><linearGradient id="floor"><stop offset="0" stop-color="#eee"/></linearGradient>
    <rect id="desk" width="20" height="10"/></defs>
  <g id="PC01" inkscape:label="desk 1"><rect style="fill:url(#floor);stroke:#333" x="0" y="0" width="20" height="10"/><text>PC01 &amp; 2 &#x2192;</text></g>
  <use id="PC02" xlink:href="#desk" x="30"/>
</svg>"##;
    let plan = clean(svg).unwrap();
    assert_eq!(plan.ids, ["floor", "desk", "PC01", "PC02"]);
    assert!(
        plan.svg
            .starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 50">"#),
        "{}",
        plan.svg
    );
    assert!(
        plan.svg
            .contains(r##"<use id="PC02" href="#desk" x="30"/>"##),
        "{}",
        plan.svg
    );
    assert!(
        plan.svg.contains("PC01 &amp; 2 \u{2192}</text>"),
        "{}",
        plan.svg
    );
    assert!(plan.svg.contains("fill:url(#floor)"), "{}", plan.svg);
    assert!(
        plan.dropped.contains("inkscape:label="),
        "{:?}",
        plan.dropped
    );
}

/// Every way of running or loading something, each in a plan with one desk that must survive.
#[test]
fn code_animation_html_and_outside_references_are_dropped() {
    let hostile = [
        r##"<script>alert(1)</script>"##,
        r##"<script xlink:href="https://evil.example/x.js"/>"##,
        r##"<rect onload="alert(1)" ONCLICK="x()" id="r"/>"##,
        r##"<foreignObject><div xmlns="http://www.w3.org/1999/xhtml"><img src="https://evil.example/t.gif"/></div></foreignObject>"##,
        r##"<h:form xmlns:h="http://www.w3.org/1999/xhtml" action="javascript:alert(1)"><h:button>go</h:button></h:form>"##,
        r##"<a href="#x"><set attributeName="href" to="javascript:alert(1)"/><text>Seat</text></a>"##,
        r##"<a xlink:href="javascript:alert(1)"><text>Seat</text></a>"##,
        r##"<animate attributeName="href" values="javascript:alert(1)"/>"##,
        r##"<image href="https://evil.example/a.png"/>"##,
        r##"<use href="https://evil.example/sprites.svg#x"/>"##,
        r##"<rect style="fill:url(https://evil.example/t)"/>"##,
        r##"<rect fill="url('https://evil.example/t')"/>"##,
        r##"<rect style="background:u\72l(https://evil.example/t)"/>"##,
        r##"<rect style="fill:&#117;rl(https://evil.example/t)"/>"##,
        r##"<rect filter="url(data:image/svg+xml,x)"/>"##,
        r##"<style>@import "https://evil.example/x.css"; #alert-list { display: none }</style>"##,
        r##"<style>&#64;import "https://evil.example/x.css";</style>"##,
        r##"<rect style="cursor:image-set('https://evil.example/c.png' 1x)"/>"##,
        r##"<iframe src="https://evil.example/"/>"##,
    ];
    for piece in hostile {
        let svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">{piece}<rect id="PC01" width="9" height="9"/></svg>"#
        );
        let plan = clean(&svg).unwrap_or_else(|e| panic!("{piece}: {e}"));
        let lower = plan.svg.to_lowercase();
        for bad in [
            "script",
            "javascript",
            "evil.example",
            "onload",
            "onclick",
            "<h:",
            "form",
            "foreignobject",
            "<set",
            "<animate",
            "@import",
            "alert-list",
            "<image",
            "iframe",
        ] {
            assert!(!lower.contains(bad), "{piece} left {bad:?}: {}", plan.svg);
        }
        assert!(
            plan.ids.contains(&"PC01".to_owned()),
            "{piece}: {}",
            plan.svg
        );
        assert!(
            !plan.dropped.is_empty(),
            "{piece}: nothing reported dropped"
        );
    }
}

#[test]
fn what_is_not_a_plan_is_refused() {
    for (svg, expected) in [
        (r#"<!DOCTYPE svg [<!ENTITY e "x">]><svg/>"#, "DOCTYPE"),
        (r#"<html><svg/></html>"#, "<html>"),
        (
            r#"<h:svg xmlns:h="http://www.w3.org/1999/xhtml"/>"#,
            "not <svg>",
        ),
        (r#"<svg><rect></svg>"#, "well-formed"),
        ("", "no <svg>"),
    ] {
        let why = clean(svg).unwrap_err();
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
