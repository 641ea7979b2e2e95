//! Writing the blast radius: CSV (one fact per row, spreadsheet-safe),
//! JSON, and Markdown for humans. Every value is log text, i.e. chosen by
//! the attacker (a user agent, a message id): each writer makes it inert for
//! its reader.

use std::collections::BTreeSet;
use std::io::{self, Write};

use crate::blast::{BlastRadius, Group, Mailbox};

/// CSV in long form: `Scope,Key,Field,Value`, one value per row, so that
/// every message id is a row a spreadsheet can filter on.
pub fn write_csv(radius: &BlastRadius, out: &mut dyn Write) -> io::Result<()> {
    let mut w = CsvRows { out };
    w.row(["Scope", "Key", "Field", "Value"])?;
    for m in &radius.mailboxes {
        let key = m.mailbox.as_str();
        let mut one = |field: &str, value: &str| w.row(["mailbox", key, field, value]);
        one("FirstAccess", m.first_access.as_deref().unwrap_or(""))?;
        one("LastAccess", m.last_access.as_deref().unwrap_or(""))?;
        one(
            "MailItemsAccessedRecords",
            &m.mail_items_accessed_records.to_string(),
        )?;
        one("GraphRequests", &m.graph_requests.to_string())?;
        one("MessagesRead", &m.read.len().to_string())?;
        one("MessagesSynced", &m.synced.len().to_string())?;
        for (field, set) in mailbox_sets(m) {
            for v in set {
                one(field, v)?;
            }
        }
    }
    for g in &radius.groups {
        let mut one = |field: &str, value: &str| w.row([g.scope, g.key.as_str(), field, value]);
        one("First", g.first.as_deref().unwrap_or(""))?;
        one("Last", g.last.as_deref().unwrap_or(""))?;
        one("Accesses", &g.accesses.to_string())?;
        for (field, set) in group_sets(g) {
            for v in set {
                one(field, v)?;
            }
        }
    }
    Ok(())
}

fn v(s: &BTreeSet<String>) -> Vec<&str> {
    s.iter().map(String::as_str).collect()
}

fn mailbox_sets(m: &Mailbox) -> [(&'static str, Vec<&str>); 9] {
    [
        ("Folder", v(&m.folders)),
        ("Read", v(&m.read)),
        ("Synced", v(&m.synced)),
        ("GraphUri", v(&m.graph_uris)),
        ("IP", v(&m.ips)),
        ("UserAgent", v(&m.user_agents)),
        ("App", v(&m.apps)),
        ("Token", v(&m.tokens)),
        (
            "OtherRecords",
            if m.other_records > 0 {
                vec!["yes"]
            } else {
                vec![]
            },
        ),
    ]
}

fn group_sets(g: &Group) -> [(&'static str, Vec<&str>); 5] {
    [
        ("Reason", v(&g.reasons)),
        ("Kind", g.kinds.iter().copied().collect()),
        ("Mailbox", v(&g.mailboxes)),
        ("IP", v(&g.ips)),
        ("UserAgent", v(&g.user_agents)),
    ]
}

struct CsvRows<'a> {
    out: &'a mut dyn Write,
}

impl CsvRows<'_> {
    fn row<const N: usize>(&mut self, cells: [&str; N]) -> io::Result<()> {
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.out.write_all(b",")?;
            }
            let safe = vigie_sinks::neutralise_csv_cell(cell);
            if safe.contains([',', '"', '\n', '\r']) {
                write!(self.out, "\"{}\"", safe.replace('"', "\"\""))?;
            } else {
                self.out.write_all(safe.as_bytes())?;
            }
        }
        self.out.write_all(b"\r\n")
    }
}

pub fn write_json(radius: &BlastRadius, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, radius)?;
    out.write_all(b"\n")
}

/// Markdown text: HTML-significant characters as entities, Markdown
/// punctuation backslash-escaped, control and bidi characters (and line
/// breaks, which would end a table row) as spaces. Values are always
/// written after `- ` or `| `, so block syntax (`#`, `1.`) cannot start.
pub fn md(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            // Inline syntax (emphasis, code, links, tables); `:` and `.`
            // so that no URL or `www.` name becomes a clickable link.
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '|' | '~' | ':' | '.' => {
                s.push('\\');
                s.push(c);
            }
            c if c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                s.push(' ')
            }
            c => s.push(c),
        }
    }
    s
}

fn list(set: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let items: Vec<String> = set.into_iter().map(|v| md(v.as_ref())).collect();
    if items.is_empty() {
        "–".to_owned()
    } else {
        items.join(", ")
    }
}

pub fn write_markdown(radius: &BlastRadius, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# Blast radius\n")?;
    writeln!(
        out,
        "{} suspicious accesses touched {} mailboxes.\n",
        radius.accesses,
        radius.mailboxes.len()
    )?;
    writeln!(
        out,
        "| Mailbox | First access | Last access | Read | Synced | Graph requests | IPs |"
    )?;
    writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |")?;
    for m in &radius.mailboxes {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            md(&m.mailbox),
            md(m.first_access.as_deref().unwrap_or("")),
            md(m.last_access.as_deref().unwrap_or("")),
            m.read.len(),
            m.synced.len(),
            m.graph_requests,
            list(&m.ips)
        )?;
    }
    for m in &radius.mailboxes {
        writeln!(out, "\n## {}\n", md(&m.mailbox))?;
        for (field, set) in mailbox_sets(m) {
            if !set.is_empty() && !matches!(field, "Read" | "Synced") {
                writeln!(out, "- **{field}**: {}", list(set))?;
            }
        }
        for (title, set) in [("Read (Bind)", &m.read), ("Synced", &m.synced)] {
            writeln!(out, "\n### {title}: {} messages\n", set.len())?;
            for id in set {
                writeln!(out, "- {}", md(id))?;
            }
        }
    }
    writeln!(out, "\n## Attacker tokens, sessions, IPs and apps\n")?;
    writeln!(
        out,
        "| Scope | Key | Why | First | Last | Accesses | Mailboxes | IPs | User agents |"
    )?;
    writeln!(
        out,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )?;
    for g in &radius.groups {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            g.scope,
            md(&g.key),
            list(&g.reasons),
            md(g.first.as_deref().unwrap_or("")),
            md(g.last.as_deref().unwrap_or("")),
            g.accesses,
            list(&g.mailboxes),
            list(&g.ips),
            list(&g.user_agents)
        )?;
    }
    Ok(())
}
