//! `vigie hunt` with the SigmaHQ rules over the EVTX attack samples of
//! `../shared/data` (skipped when that folder is absent).

mod common;

use std::collections::BTreeSet;

use common::*;

/// (sample file under evtx/, SigmaHQ rule id) pairs that must fire, across
/// ATT&CK tactics. Each was checked by reading the sample's events.
const EXPECTED: &[(&str, &str)] = &[
    // Defense evasion: Security log cleared (1102) and System log cleared (104).
    (
        "Defense Evasion/DE_1102_security_log_cleared.evtx",
        "d99b79d2-0a6f-4f46-ad8b-260b6e17f982",
    ),
    (
        "Defense Evasion/DE_104_system_log_cleared.evtx",
        "100ef69e-3327-481c-8e5c-6d80d9507556",
    ),
    // Defense evasion: PowerShell script block logging disabled in the registry.
    (
        "Defense Evasion/de_PsScriptBlockLogging_disabled_sysmon12_13.evtx",
        "fecfd1a1-cc78-4313-a1ea-2ee2e8ec27a7",
    ),
    // Defense evasion / C2: RDP port forwarding with netsh portproxy.
    (
        "Defense Evasion/de_portforward_netsh_rdp_sysmon_13_1.evtx",
        "782d6f3e-4c5d-4b8c-92a3-1d05fed72e63",
    ),
    // Credential access: DSRM password change (Security 4794).
    (
        "Credential Access/4794_DSRM_password_change_t1098.evtx",
        "53ad8e36-f573-46bf-97e4-15ba5bf4bb51",
    ),
    // Credential access: LSASS dump from a PowerShell script block (4104).
    (
        "Credential Access/Powershell_4104_MiniDumpWriteDump_Lsass.evtx",
        "84c174ab-d3ef-481f-9c86-a50d0b8e3edb",
    ),
    // Credential access: remote thread into LSASS (Sysmon 8).
    (
        "Credential Access/CA_sysmon_hashdump_cmd_meterpreter.evtx",
        "f239b326-2f41-4d6b-9dfa-c846a60ef505",
    ),
    // Execution: SquiblyTwo, wmic with a remote XSL.
    (
        "Execution/exec_wmic_xsl_internet_sysmon_3_1_11.evtx",
        "8d63dadf-b91b-4187-87b6-34a1114577ea",
    ),
    // Lateral movement: impacket wmiexec output redirected to ADMIN$.
    (
        "Lateral Movement/LM_wmiexec_impacket_sysmon_whoami.evtx",
        "ab9e3b40-0c85-4ba1-aede-455d226fd124",
    ),
    // Lateral movement: remote shell over a named pipe (Sysmon 17/18).
    (
        "Lateral Movement/lm_sysmon_18_remshell_over_namedpipe.evtx",
        "fe3ac066-98bb-432a-b1e7-a5229cb39d4a",
    ),
    // Persistence: DCSync rights granted with PowerView (Security 5136).
    (
        "Persistence/DACL_DCSync_Right_Powerview_ Add-DomainObjectAcl.evtx",
        "2c99737c-585d-4431-b61a-c911d86ff32f",
    ),
    // Privilege escalation: EfsPotato named pipe.
    (
        "Privilege Escalation/EfsPotato_sysmon_17_18_privesc_seimpersonate_to_system.evtx",
        "637f689e-b4a5-4a86-be0e-0100a0a33ba2",
    ),
    // Privilege escalation: UAC bypass with Disk Cleanup (UACMe 34).
    (
        "Privilege Escalation/Sysmon_UACME_34.evtx",
        "b697e69c-746f-4a86-9f59-7bfff8eab881",
    ),
    // Discovery: Domain Admins group enumerated (Security 4661).
    (
        "Discovery/dicovery_4661_net_group_domain_admins_target.evtx",
        "35ba1d85-724d-42a3-889f-2e2362bcaf23",
    ),
    // Command and control: plink port forwarding.
    (
        "Command and Control/DE_sysmon-3-rdp-tun.evtx",
        "48a61b29-389f-4032-b317-b30de6b95314",
    ),
    // Windows Defender threat detections (1116/1117).
    (
        "AutomatedTestingTools/WinDefender_Events_1117_1116_AtomicRedTeam.evtx",
        "57b649ef-ff42-4fb0-8bf6-62da243a1708",
    ),
];

#[test]
fn named_samples_trigger_named_sigmahq_rules() {
    let (Some(evtx), Some(rules)) = (shared("evtx"), shared("sigma/rules")) else {
        return;
    };
    let run = vigie(&[
        "hunt",
        evtx.to_str().unwrap(),
        "-r",
        rules.to_str().unwrap(),
        "-f",
        "jsonl",
        "-q",
    ]);
    assert!(run.code == 0 || run.code == 2, "{}", run.stderr);
    let prefix = format!("{}/", evtx.display());
    let got: BTreeSet<(String, String)> = detections(&run.stdout)
        .into_iter()
        .map(|(f, _, id)| (f.trim_start_matches(&prefix).to_string(), id))
        .collect();
    let missing: Vec<_> = EXPECTED
        .iter()
        .filter(|(f, id)| !got.contains(&(f.to_string(), id.to_string())))
        .collect();
    assert!(missing.is_empty(), "missing detections: {missing:#?}");
    // The whole corpus is read: every EVTX file and thousands of events.
    assert!(run.stderr.contains("events:"), "{}", run.stderr);
    assert!(got.len() > 500, "only {} detections", got.len());
    // No EVTX sample fails to parse; only non-log files are skipped.
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("error:"))
        .collect();
    assert!(errors.is_empty(), "unexpected read errors: {errors:#?}");
}
