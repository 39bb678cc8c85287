//! The `meshroute` command.
fn main() {
    eprintln!("meshroute: no commands yet");
    std::process::exit(2);
}
