//! Embeds `models/*.json.gz` (one compressed model per service and the
//! catalog), so a service's model is decoded only when first used.

use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("models");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".json.gz") && n != "catalog.json.gz")
                .collect()
        })
        .unwrap_or_default();
    // Sorted by service name (the lookup is a binary search).
    names.sort_by(|a, b| a.trim_end_matches(".json.gz").cmp(b.trim_end_matches(".json.gz")));
    let mut out = String::from(
        "/// Each service's compressed model, by service name, sorted.\npub static MODELS: &[(&str, &[u8])] = &[\n",
    );
    for name in &names {
        let service = name.trim_end_matches(".json.gz");
        let path = dir.join(name);
        let _ = writeln!(
            out,
            "    ({service:?}, include_bytes!({:?})),",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    let _ = writeln!(
        out,
        "/// The catalog of every service's operations.\npub static CATALOG: &[u8] = include_bytes!({:?});",
        dir.join("catalog.json.gz").display().to_string()
    );
    let target = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("models.rs");
    if let Err(e) = std::fs::write(&target, out) {
        panic!("cannot write {}: {e}", target.display());
    }
}
