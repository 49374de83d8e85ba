//! Unit tests of the rendering layer; they must never pass on unescaped output.

use super::*;

fn doc() -> Document {
    let mut d = Document::new("en", "T <1>".into(), "T – rev \"x\"".into());
    d.h2("A & B");
    d.para("a `b` *c* <script>");
    d.table(
        vec!["h|1".into(), "h2".into()],
        vec![vec![
            Cell::plain("=SUM(A1)"),
            Cell::toned("x,\"y\"", Tone::Yes),
        ]],
    );
    d
}

#[test]
fn html_escapes_every_text_and_carries_no_script() {
    let h = html(&doc());
    assert!(!h.contains("<script>"), "{h}");
    assert!(h.contains("&lt;script&gt;") && h.contains("A &amp; B"));
    assert!(h.contains("T &lt;1&gt;"));
    assert!(h.contains("content:\"T – rev \\22 x\\22 \""), "{h}");
}

#[test]
fn markdown_escapes_syntax_in_text_and_cells() {
    let m = markdown(&doc());
    assert!(m.contains("a \\`b\\` \\*c\\* \\<script\\>"), "{m}");
    assert!(m.contains("| h\\|1 | h2 |"), "{m}");
}

#[test]
fn csv_quotes_and_defuses_formulas() {
    let c = csv(&doc());
    assert_eq!(
        c,
        "section,subsection,h|1,h2\nA & B,,'=SUM(A1),\"x,\"\"y\"\"\"\n"
    );
}
