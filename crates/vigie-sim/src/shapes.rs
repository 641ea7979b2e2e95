//! Output shapes: the envelopes each export tool puts around the same
//! events (threat brief §3.3–§3.6).
//!
//! | shape | folder | content |
//! | --- | --- | --- |
//! | `ual-json` | `ual-json/` | Management Activity API records, one JSON object per line, one file per content type (`Audit.Exchange.jsonl`, `Audit.SharePoint.jsonl`) |
//! | `ual-purview-csv` | `ual-purview-csv/` | `audit-export.csv`: `CreationDate,UserIds,Operations,AuditData`, AuditData the same JSON record |
//! | `entra-graph` | `entra-graph/` | Graph API pages `{"@odata.context":…,"value":[…],"@odata.nextLink":…}`: `signIns-NNNNNN.json`, `directoryAudits-NNNNNN.json` |
//! | `entra-diagnostic` | `entra-diagnostic/` | Azure Monitor diagnostic records `{"records":[…]}` with `properties`: `signins-NNNNNN.json` (categories `SignInLogs`, `NonInteractiveUserSignInLogs`), `audit-NNNNNN.json` (`AuditLogs`) |
//! | `graph-activity` | `graph-activity/` | `MicrosoftGraphActivityLogs` diagnostic records `{"records":[…]}`: `activity-NNNNNN.json` |
//!
//! Every event goes to every selected shape of its log, so two shapes of a
//! log hold the same events with the same ids.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::records::{ContentType, DirectoryAudit, GraphActivity, Record, SignIn, UalRecord};
use crate::time;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shape {
    UalJson,
    UalPurviewCsv,
    EntraGraph,
    EntraDiagnostic,
    GraphActivity,
}

impl Shape {
    pub const ALL: [Shape; 5] = [
        Shape::UalJson,
        Shape::UalPurviewCsv,
        Shape::EntraGraph,
        Shape::EntraDiagnostic,
        Shape::GraphActivity,
    ];

    /// One shape per log: a hunt over the folder sees each event once.
    pub const DEFAULT: [Shape; 3] = [Shape::UalJson, Shape::EntraDiagnostic, Shape::GraphActivity];

    pub fn name(self) -> &'static str {
        match self {
            Shape::UalJson => "ual-json",
            Shape::UalPurviewCsv => "ual-purview-csv",
            Shape::EntraGraph => "entra-graph",
            Shape::EntraDiagnostic => "entra-diagnostic",
            Shape::GraphActivity => "graph-activity",
        }
    }

    /// Parses a comma-separated list of shape names, or `all`.
    pub fn parse_list(text: &str) -> Result<Vec<Shape>, String> {
        let mut shapes = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "all" {
                shapes.extend(Shape::ALL);
                continue;
            }
            let shape = Shape::ALL
                .into_iter()
                .find(|s| s.name() == part)
                .ok_or_else(|| {
                    let known: Vec<&str> = Shape::ALL.iter().map(|s| s.name()).collect();
                    format!("unknown shape `{part}` (known: {}, all)", known.join(", "))
                })?;
            shapes.push(shape);
        }
        shapes.sort();
        shapes.dedup();
        if shapes.is_empty() {
            return Err("no shape given".to_owned());
        }
        Ok(shapes)
    }
}

/// Records per Graph API page: the API's own maximum page size.
const GRAPH_PAGE: usize = 1000;
/// Records per diagnostic-records file.
const DIAGNOSTIC_BATCH: usize = 5000;

/// A file that was written, and how many records it holds.
#[derive(Debug, Clone, Serialize)]
pub struct WrittenFile {
    pub path: PathBuf,
    pub records: u64,
}

/// A series of JSON documents, each an envelope around at most `per_file`
/// records: Graph pages or diagnostic-record batches.
struct PagedJson {
    dir: PathBuf,
    stem: &'static str,
    per_file: usize,
    envelope: Envelope,
    current: Option<(BufWriter<File>, usize)>,
    files: Vec<WrittenFile>,
}

#[derive(Clone, Copy)]
enum Envelope {
    /// Graph `value` page; the text is the collection (`auditLogs/signIns`).
    GraphPage(&'static str),
    Records,
}

impl PagedJson {
    fn new(dir: &Path, stem: &'static str, per_file: usize, envelope: Envelope) -> Self {
        PagedJson {
            dir: dir.to_owned(),
            stem,
            per_file,
            envelope,
            current: None,
            files: Vec::new(),
        }
    }

    fn file_name(&self, number: usize) -> PathBuf {
        self.dir.join(format!("{}-{number:06}.json", self.stem))
    }

    fn close(&mut self, more: bool) -> io::Result<()> {
        if let Some((mut out, count)) = self.current.take() {
            match self.envelope {
                Envelope::GraphPage(collection) if more => {
                    let next = self.files.len() + 1;
                    write!(
                        out,
                        "],\"@odata.nextLink\":\"https://graph.microsoft.com/beta/{collection}?$skiptoken=page{next:06}\"}}"
                    )?;
                }
                _ => out.write_all(b"]}")?,
            }
            out.write_all(b"\n")?;
            out.flush()?;
            if let Some(last) = self.files.last_mut() {
                last.records = count as u64;
            }
        }
        Ok(())
    }

    /// Writes one record, opening the next file when the current is full.
    fn write<T: Serialize>(&mut self, record: &T) -> io::Result<()> {
        let full = matches!(&self.current, Some((_, n)) if *n >= self.per_file);
        if full {
            self.close(true)?;
        }
        if self.current.is_none() {
            let path = self.file_name(self.files.len() + 1);
            let mut out = BufWriter::with_capacity(1 << 18, File::create(&path)?);
            match self.envelope {
                Envelope::GraphPage(collection) => write!(
                    out,
                    "{{\"@odata.context\":\"https://graph.microsoft.com/beta/$metadata#{collection}\",\"value\":["
                )?,
                Envelope::Records => out.write_all(b"{\"records\":[")?,
            }
            self.files.push(WrittenFile { path, records: 0 });
            self.current = Some((out, 0));
        }
        if let Some((out, count)) = &mut self.current {
            if *count > 0 {
                out.write_all(b",\n")?;
            } else {
                out.write_all(b"\n")?;
            }
            serde_json::to_writer(&mut *out, record)?;
            *count += 1;
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<Vec<WrittenFile>> {
        self.close(false)?;
        Ok(self.files)
    }
}

struct Lines {
    path: PathBuf,
    out: BufWriter<File>,
    records: u64,
}

impl Lines {
    fn create(path: PathBuf, header: Option<&str>) -> io::Result<Self> {
        let mut out = BufWriter::with_capacity(1 << 18, File::create(&path)?);
        if let Some(header) = header {
            out.write_all(header.as_bytes())?;
            out.write_all(b"\r\n")?;
        }
        Ok(Lines {
            path,
            out,
            records: 0,
        })
    }

    fn finish(mut self) -> io::Result<WrittenFile> {
        self.out.flush()?;
        Ok(WrittenFile {
            path: self.path,
            records: self.records,
        })
    }
}

/// The diagnostic-setting envelope of a sign-in.
#[derive(Serialize)]
struct DiagnosticSignIn<'a> {
    time: String,
    #[serde(rename = "resourceId")]
    resource_id: String,
    #[serde(rename = "operationName")]
    operation_name: &'static str,
    #[serde(rename = "operationVersion")]
    operation_version: &'static str,
    category: &'static str,
    #[serde(rename = "tenantId")]
    tenant_id: &'a str,
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(rename = "resultSignature")]
    result_signature: &'static str,
    #[serde(rename = "resultDescription", skip_serializing_if = "Option::is_none")]
    result_description: Option<&'static str>,
    #[serde(rename = "durationMs")]
    duration_ms: u32,
    #[serde(rename = "callerIpAddress")]
    caller_ip_address: &'a str,
    #[serde(rename = "correlationId")]
    correlation_id: &'a str,
    identity: &'a str,
    #[serde(rename = "Level")]
    level: u8,
    location: &'static str,
    properties: &'a SignIn,
}

#[derive(Serialize)]
struct DiagnosticAudit<'a> {
    time: String,
    #[serde(rename = "resourceId")]
    resource_id: String,
    #[serde(rename = "operationName")]
    operation_name: &'static str,
    #[serde(rename = "operationVersion")]
    operation_version: &'static str,
    category: &'static str,
    #[serde(rename = "tenantId")]
    tenant_id: &'a str,
    #[serde(rename = "resultSignature")]
    result_signature: &'static str,
    #[serde(rename = "durationMs")]
    duration_ms: u32,
    #[serde(rename = "callerIpAddress")]
    caller_ip_address: &'a str,
    #[serde(rename = "correlationId")]
    correlation_id: &'a str,
    #[serde(rename = "Level")]
    level: u8,
    properties: &'a DirectoryAudit,
}

#[derive(Serialize)]
struct DiagnosticGraph<'a> {
    time: &'a str,
    #[serde(rename = "resourceId")]
    resource_id: String,
    #[serde(rename = "operationName")]
    operation_name: &'static str,
    #[serde(rename = "operationVersion")]
    operation_version: &'static str,
    category: &'static str,
    #[serde(rename = "tenantId")]
    tenant_id: &'a str,
    #[serde(rename = "resultSignature")]
    result_signature: String,
    #[serde(rename = "durationMs")]
    duration_ms: u32,
    #[serde(rename = "callerIpAddress")]
    caller_ip_address: &'a str,
    #[serde(rename = "correlationId")]
    correlation_id: &'a str,
    level: &'static str,
    location: &'static str,
    properties: &'a GraphActivity,
}

/// Every selected shape's writers.
pub struct Writers {
    tenant_id: String,
    ual_exchange: Option<Lines>,
    ual_sharepoint: Option<Lines>,
    purview: Option<Lines>,
    graph_signins: Option<PagedJson>,
    graph_audits: Option<PagedJson>,
    diagnostic_signins: Option<PagedJson>,
    diagnostic_audits: Option<PagedJson>,
    graph_activity: Option<PagedJson>,
    scratch: Vec<u8>,
}

fn shape_dir(out: &Path, shape: Shape) -> io::Result<PathBuf> {
    let dir = out.join(shape.name());
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

impl Writers {
    pub fn create(out: &Path, shapes: &[Shape], tenant_id: &str) -> io::Result<Self> {
        let mut w = Writers {
            tenant_id: tenant_id.to_owned(),
            ual_exchange: None,
            ual_sharepoint: None,
            purview: None,
            graph_signins: None,
            graph_audits: None,
            diagnostic_signins: None,
            diagnostic_audits: None,
            graph_activity: None,
            scratch: Vec::with_capacity(4096),
        };
        for &shape in shapes {
            let dir = shape_dir(out, shape)?;
            match shape {
                Shape::UalJson => {
                    w.ual_exchange = Some(Lines::create(dir.join("Audit.Exchange.jsonl"), None)?);
                    w.ual_sharepoint =
                        Some(Lines::create(dir.join("Audit.SharePoint.jsonl"), None)?);
                }
                Shape::UalPurviewCsv => {
                    w.purview = Some(Lines::create(
                        dir.join("audit-export.csv"),
                        Some("CreationDate,UserIds,Operations,AuditData"),
                    )?);
                }
                Shape::EntraGraph => {
                    w.graph_signins = Some(PagedJson::new(
                        &dir,
                        "signIns",
                        GRAPH_PAGE,
                        Envelope::GraphPage("auditLogs/signIns"),
                    ));
                    w.graph_audits = Some(PagedJson::new(
                        &dir,
                        "directoryAudits",
                        GRAPH_PAGE,
                        Envelope::GraphPage("auditLogs/directoryAudits"),
                    ));
                }
                Shape::EntraDiagnostic => {
                    w.diagnostic_signins = Some(PagedJson::new(
                        &dir,
                        "signins",
                        DIAGNOSTIC_BATCH,
                        Envelope::Records,
                    ));
                    w.diagnostic_audits = Some(PagedJson::new(
                        &dir,
                        "audit",
                        DIAGNOSTIC_BATCH,
                        Envelope::Records,
                    ));
                }
                Shape::GraphActivity => {
                    w.graph_activity = Some(PagedJson::new(
                        &dir,
                        "activity",
                        DIAGNOSTIC_BATCH,
                        Envelope::Records,
                    ));
                }
            }
        }
        Ok(w)
    }

    fn resource_id(&self) -> String {
        format!("/tenants/{}/providers/Microsoft.aadiam", self.tenant_id)
    }

    /// Writes one event to every selected shape of its log.
    pub fn write(&mut self, record: &Record) -> io::Result<()> {
        match record {
            Record::SignIn(s) => self.write_sign_in(s),
            Record::DirectoryAudit(a) => self.write_audit(a),
            Record::Ual(u) => self.write_ual(u),
            Record::GraphActivity(g) => self.write_graph(g),
        }
    }

    fn write_sign_in(&mut self, s: &SignIn) -> io::Result<()> {
        if let Some(w) = &mut self.graph_signins {
            w.write(s)?;
        }
        if self.diagnostic_signins.is_some() {
            let envelope = DiagnosticSignIn {
                time: time::iso_ticks_z(s.time),
                resource_id: self.resource_id(),
                operation_name: "Sign-in activity",
                operation_version: "1.0",
                category: if s.is_interactive {
                    "SignInLogs"
                } else {
                    "NonInteractiveUserSignInLogs"
                },
                tenant_id: &self.tenant_id,
                result_type: s.status.error_code.to_string(),
                result_signature: "None",
                result_description: s.status.failure_reason,
                duration_ms: 0,
                caller_ip_address: &s.ip_address,
                correlation_id: &s.correlation_id,
                identity: &s.user_display_name,
                level: 4,
                location: s.location.country_or_region,
                properties: s,
            };
            if let Some(w) = &mut self.diagnostic_signins {
                w.write(&envelope)?;
            }
        }
        Ok(())
    }

    fn write_audit(&mut self, a: &DirectoryAudit) -> io::Result<()> {
        if let Some(w) = &mut self.graph_audits {
            w.write(a)?;
        }
        if self.diagnostic_audits.is_some() {
            let caller = a
                .initiated_by
                .user
                .as_ref()
                .map_or("", |u| u.ip_address.as_str());
            let envelope = DiagnosticAudit {
                time: time::iso_ticks_z(a.time),
                resource_id: self.resource_id(),
                operation_name: a.activity_display_name,
                operation_version: "1.0",
                category: "AuditLogs",
                tenant_id: &self.tenant_id,
                result_signature: "None",
                duration_ms: 0,
                caller_ip_address: caller,
                correlation_id: &a.correlation_id,
                level: 4,
                properties: a,
            };
            if let Some(w) = &mut self.diagnostic_audits {
                w.write(&envelope)?;
            }
        }
        Ok(())
    }

    fn write_ual(&mut self, u: &UalRecord) -> io::Result<()> {
        if self.ual_exchange.is_none() && self.purview.is_none() {
            return Ok(());
        }
        self.scratch.clear();
        serde_json::to_writer(&mut self.scratch, u)?;
        let lines = match u.content_type {
            ContentType::Exchange => &mut self.ual_exchange,
            ContentType::SharePoint => &mut self.ual_sharepoint,
        };
        if let Some(lines) = lines {
            lines.out.write_all(&self.scratch)?;
            lines.out.write_all(b"\n")?;
            lines.records += 1;
        }
        if let Some(csv) = &mut self.purview {
            let out = &mut csv.out;
            write!(out, "{}.0000000Z,", u.creation_time)?;
            write_csv_cell(out, u.user_id.as_bytes())?;
            out.write_all(b",")?;
            write_csv_cell(out, u.operation.as_bytes())?;
            out.write_all(b",")?;
            write_csv_cell(out, &self.scratch)?;
            out.write_all(b"\r\n")?;
            csv.records += 1;
        }
        Ok(())
    }

    fn write_graph(&mut self, g: &GraphActivity) -> io::Result<()> {
        if let Some(w) = &mut self.graph_activity {
            let envelope = DiagnosticGraph {
                time: &g.time_generated,
                resource_id: format!(
                    "/TENANTS/{}/PROVIDERS/MICROSOFT.AADIAM",
                    self.tenant_id.to_uppercase()
                ),
                operation_name: "Microsoft Graph Activity",
                operation_version: "v1.0",
                category: "MicrosoftGraphActivityLogs",
                tenant_id: &self.tenant_id,
                result_signature: g.response_status_code.to_string(),
                duration_ms: g.duration_ms,
                caller_ip_address: &g.ip_address,
                correlation_id: &g.client_request_id,
                level: "Informational",
                location: g.location,
                properties: g,
            };
            w.write(&envelope)?;
        }
        Ok(())
    }

    /// Closes every file; returns what was written, in a fixed order.
    pub fn finish(self) -> io::Result<Vec<WrittenFile>> {
        let mut files = Vec::new();
        for lines in [self.ual_exchange, self.ual_sharepoint, self.purview]
            .into_iter()
            .flatten()
        {
            files.push(lines.finish()?);
        }
        for paged in [
            self.graph_signins,
            self.graph_audits,
            self.diagnostic_signins,
            self.diagnostic_audits,
            self.graph_activity,
        ]
        .into_iter()
        .flatten()
        {
            files.extend(paged.finish()?);
        }
        Ok(files)
    }
}

/// RFC 4180: quoted when it holds a comma, quote or line break; quotes doubled.
fn write_csv_cell(out: &mut impl Write, cell: &[u8]) -> io::Result<()> {
    if !cell
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
        return out.write_all(cell);
    }
    out.write_all(b"\"")?;
    for part in cell.split_inclusive(|&b| b == b'"') {
        out.write_all(part)?;
        if part.last() == Some(&b'"') {
            out.write_all(b"\"")?;
        }
    }
    out.write_all(b"\"")
}
