//! Timed benchmark: generate N indicators (default one million), load and
//! index them, and time lookups. Optionally writes the generated feed for
//! `vigie hunt --ioc` measurements.
//!
//! ```sh
//! cargo run --release -p vigie-ioc --example load_bench -- [N] [OUT.csv]
//! ```

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use vigie_core::{Detector, Event, FieldNames, ValueKind};
use vigie_ioc::{FeedSet, FieldTable, IocDetector, IocOptions};

/// A deterministic mix close to real feeds: mostly addresses and domains,
/// then hashes and URLs, a few CIDR blocks.
fn generate(n: usize) -> String {
    let mut out = String::with_capacity(n * 60);
    out.push_str("id,type,value,confidence\n");
    let mut random = vigie_core::test_rng::XorShift(0x9e37_79b9_7f4a_7c15);
    for i in 0..n {
        let x = random.next_u64();
        let conf = 20 + (x % 80);
        let _ = match i % 20 {
            0..=9 => writeln!(
                out,
                "gen-{i},ip,{}.{}.{}.{},{conf}",
                11 + (x >> 8) % 200,
                (x >> 16) % 256,
                (x >> 24) % 256,
                (x >> 32) % 256
            ),
            10 => writeln!(
                out,
                "gen-{i},ip,{}.{}.{}.0/24,{conf}",
                11 + (x >> 8) % 200,
                (x >> 16) % 256,
                (x >> 24) % 256
            ),
            11..=15 => writeln!(
                out,
                "gen-{i},domain,h{:x}.bad{}.example,{conf}",
                x >> 20,
                i % 1000
            ),
            16..=18 => writeln!(
                out,
                "gen-{i},hash,{:016x}{:016x}{:016x}{:016x},{conf}",
                x,
                x.rotate_left(7),
                x.rotate_left(19),
                i
            ),
            _ => writeln!(
                out,
                "gen-{i},url,http://u{:x}.example/p/{i},{conf}",
                x >> 24
            ),
        };
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let started = Instant::now();
    let text = generate(n);
    println!(
        "generated {n} indicators ({:.1} MB) in {:.2}s",
        text.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = args.get(2) {
        if let Err(e) = std::fs::write(path, &text) {
            eprintln!("{path}: cannot write: {e}");
            std::process::exit(2);
        }
        println!("wrote {path}");
    }

    let started = Instant::now();
    let mut set = FeedSet::new();
    set.add_text("generated", "generated.csv", &text);
    let parsed = started.elapsed();
    let bad = set.report.bad.len();
    let (index, feeds, _) = set.into_index();
    let loaded = started.elapsed();
    println!(
        "loaded {} indicators ({bad} bad): parse {:.2}s, index {:.2}s, total {:.2}s",
        index.len(),
        parsed.as_secs_f64(),
        (loaded - parsed).as_secs_f64(),
        loaded.as_secs_f64()
    );

    let mut names = FieldNames::new();
    let detector = match IocDetector::new(
        index,
        feeds,
        &FieldTable::builtin(),
        &mut names,
        IocOptions::default(),
    ) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let names = Arc::new(names);
    let mut event = Event::new(names);
    let rounds = 1_000_000u32;
    let mut alerts = 0usize;
    let started = Instant::now();
    for i in 0..rounds {
        event.clear();
        event.push("EventID", "3", ValueKind::Num);
        event.push("SourceIp", "10.1.2.3", ValueKind::Str);
        event.push(
            "DestinationIp",
            &format!("93.184.{}.{}", (i >> 8) & 255, i & 255),
            ValueKind::Str,
        );
        event.push("DestinationHostname", "www.example.org", ValueKind::Str);
        event.push(
            "Image",
            "C:\\Windows\\System32\\svchost.exe",
            ValueKind::Str,
        );
        detector.detect(&event, &mut |_| alerts += 1);
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "matched {rounds} Sysmon-3-like events in {secs:.2}s ({:.0} events/s, {alerts} alerts; event building included)",
        f64::from(rounds) / secs
    );
}
