//! The `meshroute` command.
mod envoy_config;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("envoy-config") {
        std::process::exit(envoy_config::run(args.get(2..).unwrap_or(&[])));
    }
    eprintln!("meshroute: no commands yet");
    std::process::exit(2);
}
