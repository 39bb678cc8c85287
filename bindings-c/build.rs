//! Generates include/meshroute.h from the crate's source with cbindgen. The
//! header is committed; bindings-c/test.sh fails when it is out of date.

fn main() {
    let crate_dir = match std::env::var("CARGO_MANIFEST_DIR") {
        Ok(dir) => dir,
        Err(e) => panic!("CARGO_MANIFEST_DIR not set by cargo: {e}"),
    };
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let config = match cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml")) {
        Ok(c) => c,
        Err(e) => panic!("reading cbindgen.toml: {e}"),
    };
    match cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
    {
        Ok(bindings) => {
            bindings.write_to_file(format!("{crate_dir}/include/meshroute.h"));
        }
        Err(e) => panic!("cbindgen failed: {e}"),
    }
}
