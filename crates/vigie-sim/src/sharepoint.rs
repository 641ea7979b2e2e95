//! SharePoint Online and OneDrive file events, joined to their sign-in by
//! `AppAccessContext.UniqueTokenId` and `AADSessionId`.

use crate::records::{AppAccessContext, ContentType, Record, SharePointFile, UalDetail, UalRecord};
use crate::rng::Rng;
use crate::signins::Token;
use crate::time::{self, Ticks};
use crate::users::{Org, User};

const FILES: [(&str, &str); 8] = [
    ("Budget 2023", "xlsx"),
    ("Board minutes", "docx"),
    ("Quarterly review", "pptx"),
    ("Contract draft", "docx"),
    ("Travel policy", "pdf"),
    ("Roadmap", "pptx"),
    ("Headcount plan", "xlsx"),
    ("Meeting notes", "docx"),
];

const OPERATIONS: [&str; 4] = [
    "FileAccessed",
    "FileAccessed",
    "FileModified",
    "FileDownloaded",
];

pub fn file_event(
    rng: &mut Rng,
    org: &Org,
    user: &User,
    token: &Token,
    device_name: &str,
    managed: bool,
    at: Ticks,
) -> Record {
    let (name, extension) = FILES[rng.below(FILES.len() as u64) as usize];
    let operation = OPERATIONS[rng.below(OPERATIONS.len() as u64) as usize];
    let site = format!(
        "https://contososim-my.sharepoint.com/personal/{}/",
        user.upn.replace(['@', '.'], "_")
    );
    let file_name = format!("{name}.{extension}");
    let correlation_id = rng.guid();
    Record::Ual(Box::new(UalRecord {
        time: at,
        content_type: ContentType::SharePoint,
        creation_time: time::ual(at),
        id: rng.guid(),
        operation,
        organization_id: org.id.clone(),
        record_type: 6,
        result_status: "Succeeded",
        user_key: format!(
            "i:0h.f|membership|{}@live.com",
            user.user_key.to_lowercase()
        ),
        user_type: 0,
        version: 1,
        workload: "OneDrive",
        client_ip: token.ip.clone(),
        user_id: user.upn.clone(),
        detail: UalDetail::SharePointFile(SharePointFile {
            object_id: format!("{site}Documents/{file_name}"),
            site_url: site,
            source_relative_url: "Documents".to_owned(),
            source_file_name: file_name,
            source_file_extension: extension,
            item_type: "File",
            event_source: "SharePoint",
            user_agent: token.user_agent,
            application_id: token.app.id,
            authentication_type: "OAuth",
            geo_location: user.home.geo,
            is_managed_device: managed,
            device_display_name: device_name.to_owned(),
            correlation_id: correlation_id.clone(),
            app_access_context: AppAccessContext {
                aad_session_id: (!token.session_id.is_empty()).then(|| token.session_id.clone()),
                client_app_id: token.app.id,
                correlation_id,
                issued_at_time: time::ual(token.issued),
                unique_token_id: token.uti.clone(),
            },
        }),
    }))
}
