//! A run of more than 100,000 events completes and streams to files.

use vigie_sim::{simulate, Attack, Config, Shape};

#[test]
fn a_hundred_thousand_event_run_completes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        users: 400,
        days: 7,
        seed: 2,
        attack: Some(Attack::Storm0558),
        shapes: Shape::DEFAULT.to_vec(),
        ..Config::default()
    };
    let summary = simulate(&config, dir.path()).expect("simulation runs");
    assert!(summary.events >= 100_000, "{} events", summary.events);
    assert_eq!(summary.records_written(), summary.events);
    // A tenant this size has every kind of benign look-alike.
    let truth: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("ground-truth.json")).expect("ground truth"),
    )
    .expect("ground truth is JSON");
    for kind in ["trips", "new_devices", "new_apps"] {
        let n = truth["benign"][kind].as_array().map_or(0, Vec::len);
        assert!(n > 0, "benign {kind} present");
    }
    eprintln!(
        "{} events in {:.2} s ({:.0} events/s)",
        summary.events,
        summary.seconds,
        summary.events as f64 / summary.seconds
    );
}
