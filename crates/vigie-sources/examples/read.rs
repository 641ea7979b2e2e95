//! Reads inputs with vigie-sources and reports throughput, or dumps events.
//!
//! cargo run --release -p vigie-sources --example read -- [--dump] [--threads N] [--repeat N] PATH...
//!
//! `--evtx-baseline` instead times the evtx crate alone rendering every
//! record to JSON (what reading EVTX is measured against), on one thread
//! or, with `--threads N`, on N threads: files spread over them (each
//! parsed on one thread, the crate's fastest use of several cores on many
//! small files; its own parallel chunk parsing was slower here).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;

use vigie_sources::{discover, read_input, Diagnostic, EventHandler, ReadOptions};

struct Handler {
    dump: bool,
    events: AtomicU64,
    fields: AtomicU64,
    out: Mutex<()>,
}

impl EventHandler for Handler {
    fn on_event(&self, event: &vigie_core::Event) {
        self.events.fetch_add(1, Ordering::Relaxed);
        self.fields.fetch_add(event.len() as u64, Ordering::Relaxed);
        if self.dump {
            let _guard = self.out.lock();
            println!("{} {}", event.record, event.to_json());
        }
    }
    fn on_diagnostic(&self, d: Diagnostic) {
        eprintln!("{d}");
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let dump = args.iter().any(|a| a == "--dump");
    args.retain(|a| a != "--dump");
    let mut threads = 1;
    if let Some(i) = args.iter().position(|a| a == "--threads") {
        let n: usize = args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(0);
        threads = n.max(1);
        args.drain(i..(i + 2).min(args.len()));
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    let mut repeat = 1;
    if let Some(i) = args.iter().position(|a| a == "--repeat") {
        repeat = args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(1);
        args.drain(i..(i + 2).min(args.len()));
    }
    let no_binxml = args.iter().any(|a| a == "--evtx-json");
    args.retain(|a| a != "--evtx-json");
    let baseline = args.iter().any(|a| a == "--evtx-baseline");
    args.retain(|a| a != "--evtx-baseline");
    let paths: Vec<std::path::PathBuf> = args.iter().map(Into::into).collect();
    let (inputs, diags) = discover(&paths);
    for d in diags {
        eprintln!("{d}");
    }
    if baseline {
        return evtx_baseline(&inputs, repeat, threads);
    }
    // `--evtx-json`: every EVTX record through the evtx crate's JSON.
    let opts = ReadOptions {
        evtx_binxml: !no_binxml,
        ..ReadOptions::default()
    };
    let handler = Handler {
        dump,
        events: AtomicU64::new(0),
        fields: AtomicU64::new(0),
        out: Mutex::new(()),
    };
    let bytes: u64 = inputs.iter().map(|i| i.size).sum::<u64>() * repeat as u64;
    let start = Instant::now();
    // Files in parallel, as the CLI reads them; each file's chunks or
    // batches are spread over the pool too.
    for _ in 0..repeat {
        inputs.par_iter().enumerate().for_each(|(i, input)| {
            read_input(input, i as u32, &opts, &handler);
        });
    }
    let secs = start.elapsed().as_secs_f64();
    let events = handler.events.load(Ordering::Relaxed);
    eprintln!(
        "{} inputs, {:.1} MB, {events} events, {} fields in {secs:.3}s: {:.0} events/s, {:.1} MB/s",
        inputs.len(),
        bytes as f64 / 1e6,
        handler.fields.load(Ordering::Relaxed),
        events as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
}

fn evtx_baseline(inputs: &[vigie_sources::Input], repeat: usize, threads: usize) {
    let settings = evtx::ParserSettings::new().indent(false).num_threads(1);
    let parse = |input: &vigie_sources::Input| -> u64 {
        let Ok(parser) = evtx::EvtxParser::from_path(&input.path) else {
            return 0;
        };
        let mut parser = parser.with_configuration(settings.clone());
        parser.records_json_bytes().flatten().count() as u64
    };
    let start = Instant::now();
    let mut records = 0u64;
    for _ in 0..repeat {
        records += if threads > 1 {
            inputs.par_iter().map(parse).sum::<u64>()
        } else {
            inputs.iter().map(parse).sum::<u64>()
        };
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "evtx crate alone: {records} records rendered to JSON in {secs:.3}s: {:.0} records/s ({threads} thread{})",
        records as f64 / secs,
        if threads > 1 { "s" } else { "" }
    );
}
