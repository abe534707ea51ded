//! `storewatch demo` runs end to end and its output shows the cycle worked.

use assert_cmd::Command;

#[test]
fn demo_fires_the_anomalies_and_delivers_report_cards_and_rows() {
    let output = Command::cargo_bin("storewatch")
        .expect("binary built")
        .arg("demo")
        .output()
        .expect("demo runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "demo failed: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.contains("backfill: success (6 apps collected"),
        "{text}"
    );
    assert!(
        text.contains("FIRING com.example.trails downloads"),
        "the downloads drop fires:\n{text}"
    );
    assert!(
        text.contains("FIRING com.example.planner.android crash_rate"),
        "the crash spike fires:\n{text}"
    );
    assert!(
        text.contains("(interactive [red])") && text.contains("(post)"),
        "cards and report reach Lark:\n{text}"
    );
    assert!(
        text.contains("tab daily1 (Daily): 18 rows"),
        "sheet rows appended:\n{text}"
    );
    assert!(
        text.contains(": success — 6 ok, 0 errors, 2 alerts, 4 messages"),
        "{text}"
    );
}
