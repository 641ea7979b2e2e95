//! What token forensics can find, each kind with a fixed severity and the
//! rule metadata its hunt alerts carry.

use std::sync::Arc;

use serde::Serialize;
use vigie_core::{Level, RuleMeta};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    KeyScopeViolation,
    CompromisedKey,
    AlgorithmConfusion,
    AlgNone,
    BadSignature,
    UnknownKid,
    KeyNotValidAtIssue,
    KeyAlgorithmMismatch,
    IssuerTenantMismatch,
    AudienceMismatch,
    IssuerMismatch,
    ExpBeforeIat,
    FutureIat,
    LifetimeTooLong,
    CertificateKeyMismatch,
    UnsupportedAlgorithm,
    ConsumerTenantToken,
}

const STORM_0558: &[&str] = &[
    "https://www.microsoft.com/en-us/security/blog/2023/07/14/analysis-of-storm-0558-techniques-for-unauthorized-email-access/",
    "https://msrc.microsoft.com/blog/2023/09/results-of-major-technical-investigations-for-storm-0558-key-acquisition/",
    "https://www.wiz.io/blog/storm-0558-compromised-microsoft-key-enables-authentication-of-countless-micr",
];
const JWT_BCP: &[&str] = &["https://www.rfc-editor.org/rfc/rfc8725"];
const CISA: &[&str] = &["https://www.cisa.gov/news-events/cybersecurity-advisories/aa23-193a"];

impl FindingKind {
    pub const ALL: [FindingKind; 17] = [
        FindingKind::KeyScopeViolation,
        FindingKind::CompromisedKey,
        FindingKind::AlgorithmConfusion,
        FindingKind::AlgNone,
        FindingKind::BadSignature,
        FindingKind::UnknownKid,
        FindingKind::KeyNotValidAtIssue,
        FindingKind::KeyAlgorithmMismatch,
        FindingKind::IssuerTenantMismatch,
        FindingKind::AudienceMismatch,
        FindingKind::IssuerMismatch,
        FindingKind::ExpBeforeIat,
        FindingKind::FutureIat,
        FindingKind::LifetimeTooLong,
        FindingKind::CertificateKeyMismatch,
        FindingKind::UnsupportedAlgorithm,
        FindingKind::ConsumerTenantToken,
    ];

    /// (id, rule UUID, severity, title, references)
    fn meta(
        self,
    ) -> (
        &'static str,
        &'static str,
        Level,
        &'static str,
        &'static [&'static str],
    ) {
        use FindingKind::*;
        use Level::*;
        match self {
            KeyScopeViolation => (
                "key-scope-violation",
                "d5fac08e-b7ab-4ab3-9d30-23fdd8538078",
                Critical,
                "Token signed by a key not allowed to sign for its issuer or tenant",
                STORM_0558,
            ),
            CompromisedKey => (
                "compromised-key",
                "b8b85e30-ec93-434d-9518-91291a8a8b2e",
                Critical,
                "Token signed by a publicly known compromised key",
                STORM_0558,
            ),
            AlgorithmConfusion => (
                "algorithm-confusion",
                "ac85e682-e79a-422c-b6ca-6ab19b0d718b",
                Critical,
                "HMAC token where only public keys exist (algorithm confusion)",
                JWT_BCP,
            ),
            AlgNone => (
                "alg-none",
                "e220a7bc-8893-481b-bc9e-d6e8b39cec0d",
                High,
                "Unsigned token (alg none)",
                JWT_BCP,
            ),
            BadSignature => (
                "bad-signature",
                "01ab10bf-dfaa-4d71-b19d-27b672ddf653",
                High,
                "Token signature does not verify",
                JWT_BCP,
            ),
            UnknownKid => (
                "unknown-kid",
                "66754bec-23f5-4702-ae98-675f99569a36",
                High,
                "Token signed by a key absent from the issuer's key set",
                STORM_0558,
            ),
            KeyNotValidAtIssue => (
                "key-not-valid-at-issue",
                "62efe150-2faf-4bc8-984b-cf1a13187477",
                High,
                "Token issued outside its signing certificate's validity",
                STORM_0558,
            ),
            KeyAlgorithmMismatch => (
                "key-algorithm-mismatch",
                "d674bcb6-f3bf-4326-bffd-bf9b74ba139f",
                High,
                "Token algorithm does not fit its signing key",
                JWT_BCP,
            ),
            IssuerTenantMismatch => (
                "issuer-tenant-mismatch",
                "ba465256-7b7e-4ea9-b178-26947606f59d",
                High,
                "Microsoft token whose issuer does not name its tenant",
                STORM_0558,
            ),
            AudienceMismatch => (
                "audience-mismatch",
                "e456fd5b-9ce3-4119-a9bd-61d8c3369218",
                High,
                "Token audience is not the expected one",
                JWT_BCP,
            ),
            IssuerMismatch => (
                "issuer-mismatch",
                "049e71c1-b373-4dff-abb9-8e15aa2431ea",
                High,
                "Token issuer is not the expected one",
                JWT_BCP,
            ),
            ExpBeforeIat => (
                "exp-before-iat",
                "8a205826-7c41-49b9-9a2e-34463f000ade",
                High,
                "Token expires before it was issued",
                JWT_BCP,
            ),
            FutureIat => (
                "future-iat",
                "32a84cd0-c723-4ae5-b820-7f0d04409efa",
                Medium,
                "Token issued after it was seen",
                JWT_BCP,
            ),
            LifetimeTooLong => (
                "lifetime-too-long",
                "855afdfc-ca01-44bf-9ce1-c41266339ce3",
                Medium,
                "Token lifetime longer than its issuer grants",
                STORM_0558,
            ),
            CertificateKeyMismatch => (
                "certificate-key-mismatch",
                "9ea14a7d-b54f-44a5-90ae-a42bccf33815",
                Medium,
                "Signing key differs from the key of its own certificate",
                JWT_BCP,
            ),
            UnsupportedAlgorithm => (
                "unsupported-algorithm",
                "b740e6a2-9994-49e7-b23d-cbb9ffc600e7",
                Medium,
                "Token algorithm that cannot be checked",
                JWT_BCP,
            ),
            ConsumerTenantToken => (
                "consumer-tenant-token",
                "483d42ea-436c-4cd6-928a-7b0c2b962a65",
                Informational,
                "Token of the Microsoft consumer (MSA) tenant",
                CISA,
            ),
        }
    }

    pub fn id(self) -> &'static str {
        self.meta().0
    }

    pub fn severity(self) -> Level {
        self.meta().2
    }

    pub fn title(self) -> &'static str {
        self.meta().3
    }

    /// The rule every hunt alert of this kind carries.
    pub fn rule(self) -> RuleMeta {
        let (id, uuid, level, title, references) = self.meta();
        let mut refs: Vec<String> = references.iter().map(|r| r.to_string()).collect();
        refs.push("https://attack.mitre.org/techniques/T1606/".into());
        refs.push("https://attack.mitre.org/techniques/T1550/001/".into());
        RuleMeta {
            id: uuid.into(),
            title: title.into(),
            level,
            tags: [
                "attack.credential-access",
                "attack.t1606",
                "attack.defense-evasion",
                "attack.lateral-movement",
                "attack.t1550.001",
            ]
            .iter()
            .map(|t| t.to_string())
            .collect(),
            description: format!(
                "vigie token forensics, finding `{id}`: a JWT in the event fails this check. \
                 Evidence holds the token's header and claims and its fingerprint, never the token."
            ),
            references: refs,
            author: "vigie".into(),
            origin: format!("builtin:token/{id}"),
            internal: false,
        }
    }

    /// One shared rule per kind, in [`FindingKind::ALL`] order.
    pub fn rules() -> Vec<Arc<RuleMeta>> {
        FindingKind::ALL
            .iter()
            .map(|k| Arc::new(k.rule()))
            .collect()
    }

    /// Position in [`FindingKind::ALL`] (declaration order).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One thing wrong with a token, explained.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Level,
    pub title: &'static str,
    pub explanation: String,
}

impl Finding {
    pub fn kind_id(&self) -> &'static str {
        self.kind.id()
    }

    pub fn new(kind: FindingKind, explanation: impl Into<String>) -> Finding {
        Finding {
            kind,
            severity: kind.severity(),
            title: kind.title(),
            explanation: explanation.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_rule() {
        let rules = FindingKind::rules();
        let mut ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), FindingKind::ALL.len());
        for (i, kind) in FindingKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i);
        }
        assert_eq!(rules[0].attack_techniques(), ["T1606", "T1550.001"]);
    }
}
