//! The documents' one rendering layer: a document is a title, a header line (document,
//! policy revision, date) and blocks — headings, paragraphs, lists, key–value blocks and
//! tables — rendered as a self-contained HTML page for print (A4, `@page` headers, tables
//! that wrap instead of being cut), as Markdown, or as CSV (its tables, one row per line).
//!
//! It must never emit unescaped text, a script or an external resource: every text is
//! escaped for the format it goes into, and the page carries its own styles.

use std::fmt::Write as _;

/// How a table cell is shaded (HTML only; Markdown and CSV carry the text alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Yes,
    Partly,
    No,
    Depends,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Plain => "",
            Tone::Yes => " class=\"yes\"",
            Tone::Partly => " class=\"partly\"",
            Tone::No => " class=\"no\"",
            Tone::Depends => " class=\"depends\"",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Cell {
    pub text: String,
    pub tone: Tone,
    /// A small secondary annotation under the text (a technical name, for the specialist).
    pub note: Option<String>,
    /// Items shown as a list under the text (HTML), or joined with `; `.
    pub items: Vec<String>,
}

impl Cell {
    pub fn plain(text: impl Into<String>) -> Cell {
        Cell::toned(text, Tone::Plain)
    }

    pub fn toned(text: impl Into<String>, tone: Tone) -> Cell {
        Cell {
            text: text.into(),
            tone,
            note: None,
            items: Vec::new(),
        }
    }

    /// `text` with a small annotation `note` under it.
    pub fn noted(text: impl Into<String>, note: impl Into<String>) -> Cell {
        Cell {
            note: Some(note.into()),
            ..Cell::plain(text)
        }
    }

    /// A list of items (one per line in HTML).
    pub fn list(items: Vec<String>) -> Cell {
        Cell {
            items,
            ..Cell::plain("")
        }
    }

    /// The cell as one line of text (Markdown, CSV).
    pub fn flat(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if !self.text.is_empty() {
            parts.push(self.text.clone());
        }
        if !self.items.is_empty() {
            parts.push(self.items.join("; "));
        }
        let mut s = parts.join(": ");
        if let Some(n) = &self.note {
            s.push_str(&format!(" ({n})"));
        }
        s
    }

    fn html(&self) -> String {
        let mut s = esc(&self.text);
        if !self.items.is_empty() {
            s.push_str("<ul class=\"cell\">");
            for i in &self.items {
                s.push_str(&format!("<li>{}</li>", esc(i)));
            }
            s.push_str("</ul>");
        }
        if let Some(n) = &self.note {
            s.push_str(&format!("<br><small class=\"note\">{}</small>", esc(n)));
        }
        s
    }
}

#[derive(Debug, Clone)]
pub struct Table {
    pub head: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone)]
pub enum Block {
    /// A heading of level 2 (a section) or 3 (a subsection).
    Heading(u8, String),
    Para(String),
    List(Vec<String>),
    /// Label–value pairs (a document block, a legend).
    Pairs(Vec<(String, String)>),
    Table(Table),
    /// A page break before the next block (print only).
    Break,
}

/// One document, ready to render.
#[derive(Debug, Clone)]
pub struct Document {
    pub lang: &'static str,
    pub title: String,
    /// The line every printed page repeats: title, revision, date.
    pub running: String,
    pub blocks: Vec<Block>,
}

impl Document {
    pub fn new(lang: &'static str, title: String, running: String) -> Document {
        Document {
            lang,
            title,
            running,
            blocks: Vec::new(),
        }
    }

    pub fn h2(&mut self, s: impl Into<String>) {
        self.blocks.push(Block::Heading(2, s.into()));
    }

    pub fn h3(&mut self, s: impl Into<String>) {
        self.blocks.push(Block::Heading(3, s.into()));
    }

    pub fn para(&mut self, s: impl Into<String>) {
        self.blocks.push(Block::Para(s.into()));
    }

    pub fn table(&mut self, head: Vec<String>, rows: Vec<Vec<Cell>>) {
        self.blocks.push(Block::Table(Table { head, rows }));
    }
}

/// Text for HTML: `&`, `<`, `>`, quotes escaped.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A CSS string literal's content: the running header is set in `@page` rules.
fn css_string(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '"' | '\\' | '<' | '>' => format!("\\{:x} ", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// The print page: A4, with the running header (title, revision, date) and page numbers
/// in the page margins.
fn page_rule(running: &str) -> String {
    format!(
        "@page{{size:A4;margin:20mm 14mm 18mm 14mm;\
         @top-center{{content:\"{}\";font:8pt sans-serif;color:#555}}\
         @bottom-right{{content:counter(page) \" / \" counter(pages);font:8pt sans-serif;color:#555}}}}",
        css_string(running)
    )
}

const STYLE: &str = "\
*{box-sizing:border-box}\
html{font:10pt/1.4 'DejaVu Sans',system-ui,sans-serif;color:#111}\
body{margin:0 auto;padding:12px;max-width:210mm}\
h1{font-size:16pt;margin:0 0 4px}h2{font-size:13pt;margin:18px 0 6px;break-after:avoid}\
h3{font-size:11pt;margin:14px 0 4px;break-after:avoid}\
p,li,dd{overflow-wrap:anywhere}\
.running{font-size:8pt;color:#555;border-bottom:1px solid #999;padding-bottom:2px;margin-bottom:10px}\
table{border-collapse:collapse;width:100%;table-layout:fixed;margin:4px 0 12px}\
th,td{border:1px solid #999;padding:3px 5px;text-align:left;vertical-align:top;\
overflow-wrap:anywhere;word-break:break-word;hyphens:auto;font-size:8.5pt}\
th{background:#e8e8e8}thead{display:table-header-group}tr{break-inside:avoid}\
.yes{background:#d6f0d6}.partly{background:#fff0b3}.no{background:#eee;color:#666}\
.depends{background:#d8e6ff}\
ul.cell{margin:0;padding-left:1.1em}ul.cell li{margin:0 0 2px}\
small.note{font-size:7pt;color:#666}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0 12px}\
dt{font-weight:bold}dd{margin:0}\
.break{break-before:page}\
@media print{body{padding:0;max-width:none}.running{display:none}}\
";

/// The document as one self-contained HTML page.
pub fn html(doc: &Document) -> String {
    let mut s = format!(
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{}</title><style>{}{STYLE}</style></head><body>\n\
         <div class=\"running\">{}</div><h1>{}</h1>\n",
        esc(doc.lang),
        esc(&doc.title),
        page_rule(&doc.running),
        esc(&doc.running),
        esc(&doc.title),
    );
    let mut breaking = false;
    for b in &doc.blocks {
        let open = if std::mem::take(&mut breaking) {
            " class=\"break\""
        } else {
            ""
        };
        match b {
            Block::Heading(level, t) => {
                let _ = writeln!(s, "<h{level}{open}>{}</h{level}>", esc(t));
            }
            Block::Para(t) => {
                let _ = writeln!(s, "<p{open}>{}</p>", esc(t));
            }
            Block::List(items) => {
                let _ = write!(s, "<ul{open}>");
                for i in items {
                    let _ = write!(s, "<li>{}</li>", esc(i));
                }
                s.push_str("</ul>\n");
            }
            Block::Pairs(pairs) => {
                let _ = write!(s, "<dl{open}>");
                for (k, v) in pairs {
                    let _ = write!(s, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
                }
                s.push_str("</dl>\n");
            }
            Block::Table(t) => html_table(&mut s, t, open),
            Block::Break => breaking = true,
        }
    }
    s.push_str("</body></html>\n");
    s
}

fn html_table(s: &mut String, t: &Table, open: &str) {
    let _ = write!(s, "<table{open}><thead><tr>");
    for h in &t.head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for r in &t.rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td{}>{}</td>", c.tone.class(), c.html());
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>\n");
}

/// Text for a Markdown paragraph or cell: the characters Markdown would read as syntax are
/// escaped, and a cell's line breaks become spaces.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The document as Markdown.
pub fn markdown(doc: &Document) -> String {
    let mut s = format!("# {}\n\n{}\n", md(&doc.title), md(&doc.running));
    for b in &doc.blocks {
        match b {
            Block::Heading(level, t) => {
                let _ = write!(s, "\n{} {}\n", "#".repeat(usize::from(*level)), md(t));
            }
            Block::Para(t) => {
                let _ = write!(s, "\n{}\n", md(t));
            }
            Block::List(items) => {
                s.push('\n');
                for i in items {
                    let _ = writeln!(s, "- {}", md(i));
                }
            }
            Block::Pairs(pairs) => {
                s.push('\n');
                for (k, v) in pairs {
                    let _ = writeln!(s, "- **{}:** {}", md(k), md(v));
                }
            }
            Block::Table(t) => {
                let head: Vec<String> = t.head.iter().map(|h| md(h)).collect();
                let _ = write!(s, "\n| {} |\n|", head.join(" | "));
                s.push_str(&"---|".repeat(head.len()));
                s.push('\n');
                for r in &t.rows {
                    let cells: Vec<String> = r.iter().map(|c| md(&c.flat())).collect();
                    let _ = writeln!(s, "| {} |", cells.join(" | "));
                }
            }
            Block::Break => {}
        }
    }
    s
}

/// A CSV field (RFC 4180): quoted when it holds a comma, quote or line break. A field that
/// a spreadsheet would run as a formula is prefixed with `'`.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) && s.len() > 1 {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The document's tables as CSV: each row prefixed with the section and subsection it
/// stands in, a header line before each table whose header differs from the last.
pub fn csv(doc: &Document) -> String {
    let mut s = String::new();
    let (mut h2, mut h3) = (String::new(), String::new());
    let mut last_head: Vec<String> = Vec::new();
    for b in &doc.blocks {
        match b {
            Block::Heading(2, t) => {
                h2 = t.clone();
                h3.clear();
            }
            Block::Heading(_, t) => h3 = t.clone(),
            Block::Table(t) => {
                if t.head != last_head {
                    let mut line = vec![csv_field("section"), csv_field("subsection")];
                    line.extend(t.head.iter().map(|h| csv_field(h)));
                    let _ = writeln!(s, "{}", line.join(","));
                    last_head = t.head.clone();
                }
                for r in &t.rows {
                    let mut line = vec![csv_field(&h2), csv_field(&h3)];
                    line.extend(r.iter().map(|c| csv_field(&c.flat())));
                    let _ = writeln!(s, "{}", line.join(","));
                }
            }
            _ => {}
        }
    }
    s
}

#[cfg(test)]
mod tests;
