//! Geolocation from a MaxMind-format database the user supplies
//! (`--geoip FILE`: GeoLite2/GeoIP2 City or Country, or any `.mmdb` with the
//! same `country.iso_code` / `location` / `city.names` layout), for
//! sign-ins whose log gives no location. The logs' own location fields
//! always win: they are what Entra ID saw.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;

use crate::access::SignIn;

/// An opened database.
pub struct GeoDb {
    reader: maxminddb::Reader<Vec<u8>>,
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GeoDb")
    }
}

#[derive(Deserialize)]
struct Record {
    country: Option<Country>,
    location: Option<Location>,
    city: Option<Names>,
}

#[derive(Deserialize)]
struct Country {
    iso_code: Option<String>,
}

#[derive(Deserialize)]
struct Location {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

#[derive(Deserialize)]
struct Names {
    names: Option<BTreeMap<String, String>>,
}

impl GeoDb {
    /// Opens `path`; the error names the file and the reason.
    pub fn open(path: &Path) -> Result<GeoDb, String> {
        let reader = maxminddb::Reader::open_readfile(path)
            .map_err(|e| format!("{}: not a MaxMind database: {e}", path.display()))?;
        Ok(GeoDb { reader })
    }

    /// Fills the sign-in's country, city and coordinates from its IP when
    /// the log gave none. Lookup failures leave it as it was.
    pub fn fill(&self, s: &mut SignIn) {
        if s.country.is_some() && s.geo.is_some() {
            return;
        }
        let Some(ip) = s.ip.as_deref().and_then(parse_ip) else {
            return;
        };
        let Ok(found) = self.reader.lookup(ip) else {
            return;
        };
        let Ok(Some(record)) = found.decode::<Record>() else {
            return;
        };
        if s.country.is_none() {
            s.country = record
                .country
                .and_then(|c| c.iso_code)
                .filter(|c| c.len() <= 3)
                .map(|c| c.to_ascii_uppercase().into_boxed_str());
        }
        if s.city.is_none() {
            s.city = record
                .city
                .and_then(|c| c.names)
                .and_then(|mut n| n.remove("en"))
                .map(String::into_boxed_str);
        }
        if s.geo.is_none() {
            if let Some(Location {
                latitude: Some(lat),
                longitude: Some(lon),
            }) = record.location
            {
                let sane = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
                if sane && !(lat == 0.0 && lon == 0.0) {
                    s.geo = Some((lat, lon));
                }
            }
        }
    }
}

/// The address of an IP field (`1.2.3.4`, `1.2.3.4:443`, `[2001:db8::1]:443`).
fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    text.rsplit_once(':')?.0.parse().ok()
}
