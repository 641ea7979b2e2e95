//! Constant tables: first-party applications and resources, places, names,
//! user agents and sign-in error codes.
//!
//! Application ids are Microsoft's real, well-known first-party ids (the
//! ones responders see in every tenant), so that allowlists and baselines
//! built on real data behave the same on simulated data. Everything about
//! people and places is made up.

/// An application (client) as sign-in and audit logs name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct App {
    pub id: &'static str,
    pub name: &'static str,
}

pub const OUTLOOK_DESKTOP: App = App {
    id: "5d661950-3475-41cd-a2c3-d671a3162bc1",
    name: "Microsoft Outlook",
};
pub const MICROSOFT_OFFICE: App = App {
    id: "d3590ed6-52b3-4102-aeff-aad2292ab01c",
    name: "Microsoft Office",
};
pub const OUTLOOK_MOBILE: App = App {
    id: "27922004-5251-4030-b22d-91ecd9a37ea4",
    name: "Outlook Mobile",
};
pub const OUTLOOK_WEB: App = App {
    id: "9199bf20-a13f-4107-85dc-02114787ef48",
    name: "One Outlook Web",
};
pub const TEAMS: App = App {
    id: "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
    name: "Microsoft Teams",
};
pub const OFFICE_HOME: App = App {
    id: "4765445b-32c6-49b0-83e6-1d93765276ca",
    name: "OfficeHome",
};
pub const ONEDRIVE_SYNC: App = App {
    id: "ab9b8c07-8f02-4f72-87fa-80105867a763",
    name: "OneDrive SyncEngine",
};
pub const GRAPH_EXPLORER: App = App {
    id: "de8bc8b5-d9f9-48b1-a8ad-b748da725064",
    name: "Graph Explorer",
};
pub const AZURE_PORTAL: App = App {
    id: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
    name: "Azure Portal",
};

/// Applications a user may start using during the simulated period: benign
/// "new apps that do sign in" (the ones that read mail make first-seen
/// mail-app detectors fire on legitimate activity, as in real tenants).
pub const NEW_APPS: [App; 2] = [GRAPH_EXPLORER, MICROSOFT_OFFICE];

/// A resource (audience) a token is issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    pub id: &'static str,
    pub name: &'static str,
}

pub const EXCHANGE: Resource = Resource {
    id: "00000002-0000-0ff1-ce00-000000000000",
    name: "Office 365 Exchange Online",
};
pub const GRAPH: Resource = Resource {
    id: "00000003-0000-0000-c000-000000000000",
    name: "Microsoft Graph",
};
pub const SHAREPOINT: Resource = Resource {
    id: "00000003-0000-0ff1-ce00-000000000000",
    name: "Office 365 SharePoint Online",
};
pub const AZURE_MANAGEMENT: Resource = Resource {
    id: "797f4846-ba00-4fd7-ba43-dac1f8f63013",
    name: "Windows Azure Service Management API",
};

/// The Microsoft-account (consumer) "tenant": tokens carrying it as `tid`
/// should never reach an enterprise mailbox.
pub const CONSUMER_TENANT_ID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// A city with its coordinates and standard-time UTC offset (daylight
/// saving is ignored: the simulator needs plausible hours, not exact ones).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct City {
    pub name: &'static str,
    pub state: &'static str,
    pub country: &'static str,
    pub latitude: f64,
    pub longitude: f64,
    pub utc_offset_hours: i64,
    /// The Microsoft 365 geography its data lives in (SharePoint `GeoLocation`).
    pub geo: &'static str,
}

const fn city(
    name: &'static str,
    state: &'static str,
    country: &'static str,
    latitude: f64,
    longitude: f64,
    utc_offset_hours: i64,
    geo: &'static str,
) -> City {
    City {
        name,
        state,
        country,
        latitude,
        longitude,
        utc_offset_hours,
        geo,
    }
}

/// Where the tenant's people live and have offices.
pub const HOME_CITIES: [City; 8] = [
    city("New York", "New York", "US", 40.71, -74.01, -5, "NAM"),
    city("Chicago", "Illinois", "US", 41.88, -87.63, -6, "NAM"),
    city("Seattle", "Washington", "US", 47.61, -122.33, -8, "NAM"),
    city("London", "England", "GB", 51.51, -0.13, 0, "GBR"),
    city("Manchester", "England", "GB", 53.48, -2.24, 0, "GBR"),
    city("Paris", "Ile-de-France", "FR", 48.86, 2.35, 1, "EUR"),
    city("Berlin", "Berlin", "DE", 52.52, 13.40, 1, "EUR"),
    city("Dublin", "Leinster", "IE", 53.35, -6.26, 0, "EUR"),
];

/// Where people travel on business.
pub const TRAVEL_CITIES: [City; 6] = [
    city("Tokyo", "Tokyo", "JP", 35.68, 139.69, 9, "JPN"),
    city("Singapore", "Singapore", "SG", 1.35, 103.82, 8, "APC"),
    city("Sydney", "New South Wales", "AU", -33.87, 151.21, 10, "AUS"),
    city("Madrid", "Madrid", "ES", 40.42, -3.70, 1, "EUR"),
    city("Toronto", "Ontario", "CA", 43.65, -79.38, -5, "CAN"),
    city("Sao Paulo", "Sao Paulo", "BR", -23.55, -46.63, -3, "LAM"),
];

/// Where the simulated actor's rented servers geolocate.
pub const ACTOR_CITY: City = city("Hong Kong", "Hong Kong", "HK", 22.32, 114.17, 8, "APC");

pub const FIRST_NAMES: [&str; 32] = [
    "Alex", "Bianca", "Carlos", "Dana", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas",
    "Keiko", "Liam", "Maya", "Nadia", "Oscar", "Priya", "Quentin", "Rosa", "Samir", "Tessa",
    "Umar", "Vera", "Wesley", "Xenia", "Yusuf", "Zoe", "Amara", "Bruno", "Chloe", "Dmitri", "Esme",
    "Felix",
];

pub const LAST_NAMES: [&str; 32] = [
    "Abbott",
    "Brennan",
    "Castillo",
    "Dufresne",
    "Eriksen",
    "Fontaine",
    "Garrow",
    "Hartley",
    "Ibarra",
    "Jansen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Novak",
    "Okafor",
    "Pellegrini",
    "Quinlan",
    "Rahman",
    "Sorensen",
    "Tanaka",
    "Ulrich",
    "Valdez",
    "Whitlock",
    "Xu",
    "Yilmaz",
    "Zimmer",
    "Ashford",
    "Bergstrom",
    "Calloway",
    "Delacroix",
    "Ellwood",
    "Farrow",
];

pub const DEPARTMENTS: [&str; 6] = ["Finance", "Legal", "Engineering", "Sales", "Policy", "HR"];

/// Browser and client user agents of the tenant's own devices.
pub mod agents {
    pub const WINDOWS_EDGE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36 Edg/114.0.1823.51";
    pub const MAC_SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.5 Safari/605.1.15";
    pub const OUTLOOK_WINDOWS: &str =
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.16529; Pro)";
    pub const OUTLOOK_MAC: &str = "MacOutlook/16.74.23061100 (Intelx64 Mac OS X 13.4)";
    pub const OUTLOOK_IOS: &str = "Outlook-iOS/2.0";
    pub const OUTLOOK_ANDROID: &str = "Outlook-Android/2.0";
    pub const TEAMS_DESKTOP: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Teams/1.6.00.12455 Chrome/98.0.4758.141 Electron/17.4.11 Safari/537.36";
    pub const ONEDRIVE: &str =
        "Microsoft SkyDriveSync 23.101.0514.0001 ship; Windows NT 10.0 (19045)";
    /// Script clients of the simulated actor. The real Storm-0558 user
    /// agents were not retrieved (threat brief §1.3); these stand for
    /// "PowerShell and Python scripts making REST calls".
    pub const ACTOR_PYTHON: &str = "python-requests/2.28.2";
    pub const ACTOR_POWERSHELL: &str =
        "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.17763.4377";
}

/// A failed sign-in: Entra's error code and its text.
#[derive(Debug, Clone, Copy)]
pub struct SignInError {
    pub code: u32,
    pub reason: &'static str,
}

pub const WRONG_PASSWORD: SignInError = SignInError {
    code: 50126,
    reason: "Error validating credentials due to invalid username or password.",
};
pub const MFA_REQUIRED: SignInError = SignInError {
    code: 50074,
    reason: "Strong Authentication is required.",
};
pub const KMSI_INTERRUPT: SignInError = SignInError {
    code: 50140,
    reason:
        "This error occurred due to 'Keep me signed in' interrupt when the user was signing-in.",
};
pub const BLOCKED_BY_CA: SignInError = SignInError {
    code: 53003,
    reason: "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
};
pub const MFA_FAILED: SignInError = SignInError {
    code: 500121,
    reason: "Authentication failed during strong authentication request.",
};

/// Interrupts and failures seen before a successful interactive sign-in.
pub const SIGN_IN_ERRORS: [SignInError; 5] = [
    WRONG_PASSWORD,
    MFA_REQUIRED,
    KMSI_INTERRUPT,
    BLOCKED_BY_CA,
    MFA_FAILED,
];

/// Mail folders and how often a message lands in each (out of 100).
pub const FOLDERS: [(&str, u64); 5] = [
    ("\\Inbox", 62),
    ("\\Sent Items", 18),
    ("\\Archive", 10),
    ("\\Inbox\\Projects", 6),
    ("\\Deleted Items", 4),
];
