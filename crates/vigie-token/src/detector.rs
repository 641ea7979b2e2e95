//! The hunt's token detector: every JWT in any string field of any event is
//! checked like `vigie token verify` does, against the hunt's key-set
//! snapshots (or, without any, by the checks that need no key).

use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;
use vigie_core::{Alert, Detector, Event, Level, RuleMeta, ValueKind};

use crate::findings::{Finding, FindingKind};
use crate::jwt::{token_digest, Jwt};
use crate::redact::redact_alert;
use crate::scan::{find_tokens, may_hold_token};
use crate::store::KeyStore;
use crate::verify::{verify, Verdict, VerifyOptions, CLOCK_SKEW_SECONDS};

/// Verdicts kept per distinct token: a replayed token is checked once.
/// The cache is emptied when full, which bounds memory on any input.
const CACHE_LIMIT: usize = 4096;

/// Most tokens checked in one event: a hostile record full of token-shaped
/// strings must not stall the hunt.
const MAX_TOKENS_PER_EVENT: usize = 16;

pub struct TokenDetector {
    store: KeyStore,
    min_level: Level,
    rules: Vec<Arc<RuleMeta>>,
    cache: Mutex<FxHashMap<[u8; 32], Arc<Verdict>>>,
}

impl TokenDetector {
    /// `store` may be empty: the checks that need no key still run.
    pub fn new(store: KeyStore, min_level: Level) -> TokenDetector {
        TokenDetector {
            store,
            min_level,
            rules: FindingKind::rules(),
            cache: Mutex::new(FxHashMap::default()),
        }
    }

    fn verdict(&self, token: &str, digest: [u8; 32]) -> Option<Arc<Verdict>> {
        if let Some(v) = self.cache.lock().ok().and_then(|c| c.get(&digest).cloned()) {
            return Some(v);
        }
        let jwt = Jwt::decode(token).ok()?;
        // `seen_at` depends on the event, so it is checked per event below.
        let verdict = Arc::new(verify(&jwt, &self.store, &VerifyOptions::default()));
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(digest, verdict.clone());
        }
        Some(verdict)
    }

    fn alert(&self, event: &Event, field: &str, verdict: &Verdict, finding: &Finding) -> Alert {
        let i = &verdict.inspection;
        let mut evidence = vec![
            ("Finding".to_owned(), finding.explanation.clone()),
            ("TokenFingerprint".to_owned(), i.fingerprint.clone()),
            ("TokenField".to_owned(), field.to_owned()),
            (
                "TokenHeader".to_owned(),
                serde_json::to_string(&i.header).unwrap_or_default(),
            ),
            (
                "TokenClaims".to_owned(),
                serde_json::to_string(&i.claims).unwrap_or_default(),
            ),
            (
                "Signature".to_owned(),
                serde_json::to_value(verdict.signature)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
            ),
        ];
        if let Some(key) = &verdict.signing_key {
            let scope = key.scope.as_deref().unwrap_or("no issuer given");
            evidence.push((
                "SigningKey".to_owned(),
                format!(
                    "{} from {} (may sign for {scope})",
                    key.kid.as_deref().unwrap_or("?"),
                    key.key_set
                ),
            ));
        }
        let rule = self.rules[finding.kind.index()].clone();
        let mut alert = Alert::for_event(rule, event, evidence);
        redact_alert(&mut alert);
        alert
    }
}

impl Detector for TokenDetector {
    fn name(&self) -> &str {
        "token"
    }

    fn detect(&self, event: &Event, emit: &mut dyn FnMut(Alert)) {
        if !may_hold_token(event.all_lower()) {
            return;
        }
        // Empty until a token shows up: events without one allocate nothing.
        let mut seen: Vec<[u8; 32]> = Vec::new();
        let seen_at = event.timestamp.map(|micros| micros.div_euclid(1_000_000));
        for (field, value) in event.iter() {
            if value.kind != ValueKind::Str {
                continue;
            }
            for token in find_tokens(value.text) {
                if seen.len() >= MAX_TOKENS_PER_EVENT {
                    return;
                }
                let digest = token_digest(token);
                if seen.contains(&digest) {
                    continue;
                }
                seen.push(digest);
                let Some(verdict) = self.verdict(token, digest) else {
                    continue;
                };
                for finding in &verdict.findings {
                    if finding.severity >= self.min_level {
                        emit(self.alert(event, field, &verdict, finding));
                    }
                }
                if let Some(f) = future_iat(&verdict, seen_at) {
                    if f.severity >= self.min_level {
                        emit(self.alert(event, field, &verdict, &f));
                    }
                }
            }
        }
    }
}

/// A token issued after the event that carries it was logged.
fn future_iat(verdict: &Verdict, seen_at: Option<i64>) -> Option<Finding> {
    let iat = verdict.inspection.issued_at.as_ref()?.unix;
    let seen = seen_at?;
    (iat > seen.saturating_add(CLOCK_SKEW_SECONDS)).then(|| {
        Finding::new(
            FindingKind::FutureIat,
            format!(
                "Issued {}, {} after the event that carries it: its times were made up.",
                verdict
                    .inspection
                    .issued_at
                    .as_ref()
                    .map(|t| t.utc.as_str())
                    .unwrap_or(""),
                crate::inspect::human_duration(iat.saturating_sub(seen))
            ),
        )
    })
}
