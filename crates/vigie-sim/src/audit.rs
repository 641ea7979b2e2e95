//! Entra ID audit events: the directory's ordinary churn (profile updates,
//! group membership, password resets, device registrations, consents).

use crate::catalog::{AZURE_PORTAL, DEPARTMENTS};
use crate::records::{
    DirectoryAudit, InitiatedBy, InitiatingApp, InitiatingUser, KeyValue, ModifiedProperty, Record,
    TargetResource,
};
use crate::rng::Rng;
use crate::time::{self, Ticks};
use crate::users::{Device, User};

struct Activity {
    name: &'static str,
    category: &'static str,
    operation_type: &'static str,
    service: &'static str,
}

const ADMIN_ACTIVITIES: [Activity; 4] = [
    Activity {
        name: "Update user",
        category: "UserManagement",
        operation_type: "Update",
        service: "Core Directory",
    },
    Activity {
        name: "Add member to group",
        category: "GroupManagement",
        operation_type: "Assign",
        service: "Core Directory",
    },
    Activity {
        name: "Reset user password",
        category: "UserManagement",
        operation_type: "Update",
        service: "Self-service Password Management",
    },
    Activity {
        name: "Update group",
        category: "GroupManagement",
        operation_type: "Update",
        service: "Core Directory",
    },
];

const GROUPS: [&str; 5] = [
    "All Staff",
    "Finance Team",
    "VPN Users",
    "Project Atlas",
    "Legal Hold",
];

fn initiator(admin: &User) -> InitiatedBy {
    InitiatedBy {
        user: Some(InitiatingUser {
            id: admin.object_id.clone(),
            display_name: admin.display_name.clone(),
            user_principal_name: admin.upn.clone(),
            ip_address: admin.office_ip.clone(),
        }),
        app: None,
    }
}

fn target_user(user: &User, modified: Vec<ModifiedProperty>) -> TargetResource {
    TargetResource {
        id: user.object_id.clone(),
        display_name: user.display_name.clone(),
        kind: "User",
        user_principal_name: Some(user.upn.clone()),
        modified_properties: modified,
    }
}

/// A routine change an administrator makes to `target`.
pub fn admin_change(rng: &mut Rng, admin: &User, target: &User, at: Ticks) -> Record {
    let activity = &ADMIN_ACTIVITIES[rng.below(ADMIN_ACTIVITIES.len() as u64) as usize];
    let mut targets = Vec::new();
    match activity.name {
        "Update user" => {
            let new = *rng.pick(&DEPARTMENTS);
            targets.push(target_user(
                target,
                vec![ModifiedProperty {
                    display_name: "Department",
                    old_value: format!("[\"{}\"]", target.department),
                    new_value: format!("[\"{new}\"]"),
                }],
            ));
        }
        "Add member to group" | "Update group" => {
            let group = *rng.pick(&GROUPS);
            targets.push(target_user(target, Vec::new()));
            targets.push(TargetResource {
                id: rng.guid(),
                display_name: group.to_owned(),
                kind: "Group",
                user_principal_name: None,
                modified_properties: vec![ModifiedProperty {
                    display_name: "Group.DisplayName",
                    old_value: String::new(),
                    new_value: format!("\"{group}\""),
                }],
            });
        }
        _ => targets.push(target_user(target, Vec::new())),
    }
    Record::DirectoryAudit(Box::new(DirectoryAudit {
        time: at,
        id: format!("Directory_{}", rng.guid()),
        category: activity.category,
        correlation_id: rng.guid(),
        result: "success",
        result_reason: "",
        activity_display_name: activity.name,
        activity_date_time: time::iso_seconds_z(at),
        logged_by_service: activity.service,
        operation_type: activity.operation_type,
        initiated_by: initiator(admin),
        target_resources: targets,
        additional_details: vec![KeyValue {
            key: "User-Agent",
            value: crate::catalog::agents::WINDOWS_EDGE.to_owned(),
        }],
    }))
}

/// A user registers a new device (noise: "new devices").
pub fn device_registered(
    rng: &mut Rng,
    user: &User,
    device: &Device,
    ip: &str,
    at: Ticks,
) -> Record {
    Record::DirectoryAudit(Box::new(DirectoryAudit {
        time: at,
        id: format!("Directory_{}", rng.guid()),
        category: "Device",
        correlation_id: rng.guid(),
        result: "success",
        result_reason: "",
        activity_display_name: "Register device",
        activity_date_time: time::iso_seconds_z(at),
        logged_by_service: "Device Registration Service",
        operation_type: "Add",
        initiated_by: InitiatedBy {
            user: Some(InitiatingUser {
                id: user.object_id.clone(),
                display_name: user.display_name.clone(),
                user_principal_name: user.upn.clone(),
                ip_address: ip.to_owned(),
            }),
            app: Some(InitiatingApp {
                app_id: "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9",
                display_name: "Device Registration Service",
                service_principal_id: String::new(),
            }),
        },
        target_resources: vec![TargetResource {
            id: device.id.clone(),
            display_name: device.display_name.clone(),
            kind: "Device",
            user_principal_name: None,
            modified_properties: vec![ModifiedProperty {
                display_name: "DeviceOSType",
                old_value: String::new(),
                new_value: format!("\"{}\"", device.kind.operating_system()),
            }],
        }],
        additional_details: vec![KeyValue {
            key: "Device Trust Type",
            value: if device.managed {
                "AzureAD"
            } else {
                "Workplace"
            }
            .to_owned(),
        }],
    }))
}

/// A user consents to an application (noise: "new apps that do sign in").
pub fn consent_to_app(
    rng: &mut Rng,
    user: &User,
    app_id: &'static str,
    app_name: &'static str,
    ip: &str,
    at: Ticks,
) -> Record {
    Record::DirectoryAudit(Box::new(DirectoryAudit {
        time: at,
        id: format!("Directory_{}", rng.guid()),
        category: "ApplicationManagement",
        correlation_id: rng.guid(),
        result: "success",
        result_reason: "",
        activity_display_name: "Consent to application",
        activity_date_time: time::iso_seconds_z(at),
        logged_by_service: "Core Directory",
        operation_type: "Assign",
        initiated_by: InitiatedBy {
            user: Some(InitiatingUser {
                id: user.object_id.clone(),
                display_name: user.display_name.clone(),
                user_principal_name: user.upn.clone(),
                ip_address: ip.to_owned(),
            }),
            app: None,
        },
        target_resources: vec![TargetResource {
            id: rng.guid(),
            display_name: app_name.to_owned(),
            kind: "ServicePrincipal",
            user_principal_name: None,
            modified_properties: vec![ModifiedProperty {
                display_name: "ConsentAction.Permissions",
                old_value: String::new(),
                new_value: format!("[ClientId: {app_id}, Scope: Mail.Read User.Read]"),
            }],
        }],
        additional_details: vec![KeyValue {
            key: "User-Agent",
            value: crate::catalog::agents::WINDOWS_EDGE.to_owned(),
        }],
    }))
}

/// The portal app administrators sign in to before changing the directory.
pub const ADMIN_APP: crate::catalog::App = AZURE_PORTAL;
