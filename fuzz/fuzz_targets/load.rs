//! Any text: loading never panics, and every message has a location or an
//! explicit unknown one; compiling and checking what loaded never panics.
//! The fast YAML subset reader builds the full parser's tree whenever it
//! reads a document.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    meshroute::load::assert_yaml_readers_agree(text);
    let config = meshroute::load::load_str(text, "fuzz.yaml");
    for m in &config.messages {
        assert!(!m.text.is_empty(), "every message says something");
    }
    let mesh = meshroute::Mesh::compile(&config);
    let _ = mesh.decide(&meshroute::Request::new("reviews"));
});
