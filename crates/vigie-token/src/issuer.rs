//! What an issuer is: the Microsoft consumer (MSA) tenant, an enterprise
//! tenant, or someone else; and the issuer-substitution rule that decides
//! whether a key may sign for an issuer.

use serde::Serialize;

/// The tenant id of personal Microsoft accounts (MSA, "consumers").
pub const CONSUMER_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// The placeholder Entra's multi-tenant metadata and keys use for "the
/// tenant the token is for".
pub const TENANT_PLACEHOLDER: &str = "{tenantid}";

const MS_V2_PREFIX: &str = "https://login.microsoftonline.com/";
const MS_V1_PREFIX: &str = "https://sts.windows.net/";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssuerKind {
    /// The consumer tenant: personal Microsoft accounts.
    Consumer,
    /// A Microsoft Entra ID (Azure AD) organisation's tenant.
    EnterpriseTenant,
    /// Any other issuer (Google, Okta, an application's own…).
    Other,
    /// The token names no issuer.
    Missing,
}

impl IssuerKind {
    pub fn describe(self) -> &'static str {
        match self {
            IssuerKind::Consumer => {
                "Microsoft consumer accounts (MSA: Outlook.com, Xbox, personal accounts)"
            }
            IssuerKind::EnterpriseTenant => "a Microsoft Entra ID organisation (enterprise tenant)",
            IssuerKind::Other => "a non-Microsoft issuer",
            IssuerKind::Missing => "no issuer (`iss` claim missing)",
        }
    }
}

/// A GUID in the 8-4-4-4-12 hex form.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The tenant GUID a Microsoft issuer URL names, if any.
pub fn tenant_in_issuer(iss: &str) -> Option<&str> {
    let rest = iss
        .strip_prefix(MS_V2_PREFIX)
        .or_else(|| iss.strip_prefix(MS_V1_PREFIX))?;
    let tenant = rest.split('/').next()?;
    is_guid(tenant).then_some(tenant)
}

/// Whether the issuer is one of Microsoft's identity services.
pub fn is_microsoft(iss: &str) -> bool {
    iss.starts_with(MS_V2_PREFIX)
        || iss.starts_with(MS_V1_PREFIX)
        || iss.starts_with("https://login.windows.net/")
        || iss.starts_with("https://login.live.com")
}

/// Issuers known to sign only with public keys: an HMAC token claiming to
/// come from them is forged.
pub fn signs_with_public_keys(iss: &str) -> bool {
    is_microsoft(iss) || iss == "https://accounts.google.com" || iss == "accounts.google.com"
}

/// The longest lifetime (seconds) an issuer normally gives its tokens, for
/// the issuers whose policy is known. Entra access tokens live 60–90 min by
/// default and at most one day under a lifetime policy; MSA id_tokens live
/// one day; Google's id_tokens one hour.
pub fn normal_max_lifetime(iss: &str) -> Option<i64> {
    if is_microsoft(iss) {
        Some(24 * 3600)
    } else if iss == "https://accounts.google.com" || iss == "accounts.google.com" {
        Some(3600)
    } else {
        None
    }
}

/// Classifies a token by its `iss` and `tid`.
pub fn classify(iss: Option<&str>, tid: Option<&str>) -> IssuerKind {
    let Some(iss) = iss else {
        return match tid {
            Some(t) if t.eq_ignore_ascii_case(CONSUMER_TENANT) => IssuerKind::Consumer,
            Some(t) if is_guid(t) => IssuerKind::EnterpriseTenant,
            _ => IssuerKind::Missing,
        };
    };
    let tenant = tid.or_else(|| tenant_in_issuer(iss));
    match tenant {
        Some(t) if t.eq_ignore_ascii_case(CONSUMER_TENANT) => IssuerKind::Consumer,
        _ if iss.starts_with("https://login.live.com") => IssuerKind::Consumer,
        Some(t) if is_guid(t) && (is_microsoft(iss) || tid.is_some()) => {
            IssuerKind::EnterpriseTenant
        }
        _ => IssuerKind::Other,
    }
}

/// The v2.0 form of a v1 Entra issuer (`https://sts.windows.net/{tid}/`),
/// so that v1 tokens can be checked against v2 metadata as Microsoft's own
/// validator does.
fn as_v2(iss: &str) -> Option<String> {
    let tenant = iss.strip_prefix(MS_V1_PREFIX)?.strip_suffix('/')?;
    is_guid(tenant).then(|| format!("{MS_V2_PREFIX}{tenant}/v2.0"))
}

/// Why a key may not sign a token, under the issuer-substitution rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeViolation {
    /// The issuer the key is allowed to sign for (after substitution).
    pub allowed: String,
    pub reason: String,
    /// A consumer key signing for an enterprise tenant: Storm-0558's shape.
    pub consumer_key_for_enterprise: bool,
}

/// Applies the issuer-substitution rule (Microsoft's post-Storm-0558
/// `EnableAadSigningKeyIssuerValidation`): `key_issuer` is the issuer a key
/// is published for (the JWK's `issuer`, or its metadata document's); when
/// it holds `{tenantid}`, the token's `tid` is substituted. The token's
/// `iss` must equal the result (a v1 `sts.windows.net` issuer is compared in
/// its v2 form), and must name the `tid` it carries.
pub fn check_key_scope(
    key_issuer: &str,
    iss: Option<&str>,
    tid: Option<&str>,
) -> Result<(), ScopeViolation> {
    let key_tenant = tenant_in_issuer(key_issuer);
    let consumer_key = key_tenant.is_some_and(|t| t.eq_ignore_ascii_case(CONSUMER_TENANT));
    let token_enterprise = tid
        .or_else(|| iss.and_then(tenant_in_issuer))
        .is_some_and(|t| is_guid(t) && !t.eq_ignore_ascii_case(CONSUMER_TENANT));
    let violation = |allowed: String, reason: String| ScopeViolation {
        consumer_key_for_enterprise: consumer_key && token_enterprise,
        allowed,
        reason,
    };
    let Some(iss) = iss else {
        return Err(violation(
            key_issuer.to_owned(),
            "the token has no `iss`, so nothing shows the key may sign it".into(),
        ));
    };
    let allowed = if key_issuer.contains(TENANT_PLACEHOLDER) {
        let Some(tid) = tid else {
            return Err(violation(
                key_issuer.to_owned(),
                format!("the key is for any tenant of `{key_issuer}`, but the token has no `tid` to substitute"),
            ));
        };
        if !iss.contains(tid) {
            return Err(violation(
                key_issuer.replace(TENANT_PLACEHOLDER, tid),
                format!("the token's `iss` does not contain its `tid` {tid}"),
            ));
        }
        key_issuer.replace(TENANT_PLACEHOLDER, tid)
    } else {
        key_issuer.to_owned()
    };
    let matches = iss == allowed || as_v2(iss).is_some_and(|v2| v2 == allowed);
    if matches {
        return Ok(());
    }
    let reason = if consumer_key && token_enterprise {
        format!(
            "a consumer (MSA) key may sign only for the consumer tenant ({allowed}), but this token is for enterprise tenant {}",
            tid.or_else(|| tenant_in_issuer(iss)).unwrap_or("?")
        )
    } else {
        format!("the key may sign only for `{allowed}`, but the token's issuer is `{iss}`")
    };
    Err(violation(allowed, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTERPRISE: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const ANY_TENANT: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";

    fn consumer_issuer() -> String {
        format!("{MS_V2_PREFIX}{CONSUMER_TENANT}/v2.0")
    }

    fn enterprise_issuer() -> String {
        format!("{MS_V2_PREFIX}{ENTERPRISE}/v2.0")
    }

    #[test]
    fn classifies_issuers() {
        let c = consumer_issuer();
        let e = enterprise_issuer();
        assert_eq!(
            classify(Some(&c), Some(CONSUMER_TENANT)),
            IssuerKind::Consumer
        );
        assert_eq!(
            classify(Some(&e), Some(ENTERPRISE)),
            IssuerKind::EnterpriseTenant
        );
        let v1 = format!("{MS_V1_PREFIX}{ENTERPRISE}/");
        assert_eq!(classify(Some(&v1), None), IssuerKind::EnterpriseTenant);
        assert_eq!(
            classify(Some("https://accounts.google.com"), None),
            IssuerKind::Other
        );
        assert_eq!(classify(None, None), IssuerKind::Missing);
    }

    #[test]
    fn consumer_key_may_sign_consumer_tokens_only() {
        let c = consumer_issuer();
        let e = enterprise_issuer();
        assert!(check_key_scope(&c, Some(&c), Some(CONSUMER_TENANT)).is_ok());
        let v = check_key_scope(&c, Some(&e), Some(ENTERPRISE)).expect_err("violation");
        assert!(v.consumer_key_for_enterprise);
    }

    #[test]
    fn enterprise_template_substitutes_the_tenant() {
        let e = enterprise_issuer();
        assert!(check_key_scope(ANY_TENANT, Some(&e), Some(ENTERPRISE)).is_ok());
        let v1 = format!("{MS_V1_PREFIX}{ENTERPRISE}/");
        assert!(check_key_scope(ANY_TENANT, Some(&v1), Some(ENTERPRISE)).is_ok());
        // tid and iss disagree.
        let other = "11111111-2222-3333-4444-555555555555";
        assert!(check_key_scope(ANY_TENANT, Some(&e), Some(other)).is_err());
        assert!(check_key_scope(ANY_TENANT, Some(&e), None).is_err());
        assert!(check_key_scope(ANY_TENANT, None, Some(ENTERPRISE)).is_err());
        // The template with the consumer tenant substituted is consumer scope:
        // allowed, as Entra's common endpoint publishes it.
        let c = consumer_issuer();
        assert!(check_key_scope(ANY_TENANT, Some(&c), Some(CONSUMER_TENANT)).is_ok());
    }

    #[test]
    fn guids() {
        assert!(is_guid(CONSUMER_TENANT));
        assert!(!is_guid("9188040d-6c67-4c5b-b112"));
        assert!(!is_guid("{tenantid}"));
    }
}
