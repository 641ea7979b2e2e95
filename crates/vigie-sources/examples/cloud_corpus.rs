//! Writes a synthetic cloud corpus for the benchmark in BENCHMARKS.md:
//! UAL records (Management Activity API JSON lines), Entra sign-ins and
//! audit records (diagnostic-setting JSON lines), in equal shares.
//!
//! cargo run --release -p vigie-sources --example cloud_corpus -- RECORDS OUT.jsonl

use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let records: u64 = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let out = args.next().unwrap_or_else(|| "cloud-corpus.jsonl".into());
    let mut w = BufWriter::new(std::fs::File::create(&out)?);
    let operations = [
        "UserLoggedIn",
        "MailItemsAccessed",
        "Set-Mailbox",
        "New-InboxRule",
        "FileAccessed",
        "Update user.",
    ];
    let workloads = [
        "AzureActiveDirectory",
        "Exchange",
        "Exchange",
        "Exchange",
        "SharePoint",
        "AzureActiveDirectory",
    ];
    let codes = [0, 0, 0, 50126, 50140, 53003];
    for n in 0..records {
        let user = n % 5000;
        let second = n % 86_400;
        let time = format!(
            "2023-06-12T{:02}:{:02}:{:02}",
            second / 3600,
            second / 60 % 60,
            second % 60
        );
        let ip = format!("198.51.{}.{}", n % 200, n % 250);
        match n % 3 {
            0 => {
                let k = (n / 3 % 6) as usize;
                writeln!(
                    w,
                    r#"{{"CreationTime":"{time}","Id":"{n:08x}-0b7d-4d3e-9a1b-08db6b2f0c11","Operation":"{}","OrganizationId":"11111111-2222-3333-4444-555555555555","RecordType":15,"ResultStatus":"Succeeded","UserKey":"1003200{user}","UserType":0,"Version":1,"Workload":"{}","ClientIP":"{ip}:{}","ObjectId":"00000002-0000-0000-c000-000000000000","UserId":"user{user}@contoso.example","ApplicationId":"4345a7b9-9a63-4910-a426-35363201d503","ExtendedProperties":[{{"Name":"UserAgent","Value":"Mozilla/5.0 (Windows NT 10.0; Win64; x64)"}},{{"Name":"RequestType","Value":"OAuth2:Authorize"}},{{"Name":"ResultStatusDetail","Value":"Success"}}],"AppAccessContext":{{"AADSessionId":"0b5e7d21-9c4a-4f3e-a8d6-{n:012x}","UniqueTokenId":"3kVZRE8tFkinHtPA7_{n:x}"}}}}"#,
                    operations[k],
                    workloads[k],
                    10000 + n % 50000
                )?;
            }
            1 => {
                let code = codes[(n / 3 % 6) as usize];
                writeln!(
                    w,
                    r#"{{"time":"{time}.3097429Z","resourceId":"/tenants/11111111-2222-3333-4444-555555555555/providers/Microsoft.aadiam","operationName":"Sign-in activity","operationVersion":"1.0","category":"NonInteractiveUserSignInLogs","tenantId":"11111111-2222-3333-4444-555555555555","resultType":"{code}","resultSignature":"None","durationMs":0,"callerIpAddress":"{ip}","correlationId":"8b79f1be-0000-48f5-ad92-{n:012x}","identity":"User {user}","Level":4,"location":"GB","properties":{{"id":"{n:08x}-0000-425d-b777-2c8c6c380b00","createdDateTime":"{time}.3097429+00:00","userDisplayName":"User {user}","userPrincipalName":"user{user}@contoso.example","userId":"da495378-0000-450f-997c-{user:012}","appId":"d3590ed6-52b3-4102-aeff-aad2292ab01c","appDisplayName":"Microsoft Office","resourceId":"00000002-0000-0ff1-ce00-000000000000","resourceDisplayName":"Office 365 Exchange Online","ipAddress":"{ip}","clientAppUsed":"Mobile Apps and Desktop clients","isInteractive":false,"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/114.0","location":{{"city":"London","countryOrRegion":"GB"}},"status":{{"errorCode":{code}}},"conditionalAccessStatus":"success","authenticationRequirement":"singleFactorAuthentication","riskState":"none","uniqueTokenIdentifier":"3kVZRE8tFkinHtPA7_{n:x}","deviceDetail":{{"deviceId":"","operatingSystem":"Windows10","browser":"Chrome 114.0.0"}}}}}}"#
                )?;
            }
            _ => {
                writeln!(
                    w,
                    r#"{{"time":"{time}.983Z","resourceId":"/tenants/11111111-2222-3333-4444-555555555555/providers/Microsoft.aadiam","operationName":"Update user","category":"AuditLogs","tenantId":"11111111-2222-3333-4444-555555555555","resultSignature":"None","durationMs":0,"callerIpAddress":"{ip}","correlationId":"10065ffb-0000-48bc-{n:012x}","Level":4,"properties":{{"id":"Directory_{n:x}","activityDisplayName":"Update user","activityDateTime":"{time}.983Z","category":"UserManagement","loggedByService":"Core Directory","operationType":"Update","result":"success","initiatedBy":{{"user":{{"userPrincipalName":"admin@contoso.example","ipAddress":"{ip}"}}}},"targetResources":[{{"id":"{n:x}","displayName":"User {user}","type":"User","userPrincipalName":"user{user}@contoso.example","modifiedProperties":[{{"displayName":"StrongAuthenticationMethod","oldValue":"[]","newValue":"[]"}}]}}],"additionalDetails":[{{"key":"User-Agent","value":"Mozilla/5.0"}}]}}}}"#
                )?;
            }
        }
    }
    w.flush()
}
