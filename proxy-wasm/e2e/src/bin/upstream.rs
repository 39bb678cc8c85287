//! Loopback upstreams: `upstream NAME=PORT...`, each answering every request
//! with its own name, the path and authority it received and its `x-*`
//! request headers. Test hooks: `/fail-once/KEY...` answers 503 the first
//! time a KEY is seen; `/sleep/MS...` waits MS milliseconds first.
//! HTTP/1.1 keep-alive, one thread per connection (fast enough for wrk).
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

fn main() {
    let seen: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut handles = Vec::new();
    for arg in std::env::args().skip(1) {
        let Some((name, port)) = arg.split_once('=') else {
            eprintln!("usage: upstream NAME=PORT...");
            std::process::exit(2);
        };
        let listener = match TcpListener::bind(("127.0.0.1", port.parse::<u16>().unwrap_or(0))) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("upstream {name}: bind {port}: {e}");
                std::process::exit(1);
            }
        };
        let name = name.to_string();
        let seen = seen.clone();
        handles.push(std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let name = name.clone();
                let seen = seen.clone();
                std::thread::spawn(move || serve(conn, &name, &seen));
            }
        }));
    }
    for h in handles {
        let _ = h.join();
    }
}

fn serve(conn: TcpStream, name: &str, seen: &Mutex<HashSet<String>>) {
    let _ = conn.set_nodelay(true);
    let Ok(write_half) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    let mut out = write_half;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut authority = String::new();
        let mut extra = Vec::new();
        let mut length = 0usize;
        let mut close = false;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                let v = v.trim();
                match k.as_str() {
                    "host" => authority = v.to_string(),
                    "content-length" => length = v.parse().unwrap_or(0),
                    "connection" if v.eq_ignore_ascii_case("close") => close = true,
                    _ if k.starts_with("x-")
                        && !k.starts_with("x-envoy")
                        && k != "x-request-id"
                        && k != "x-forwarded-proto" =>
                    {
                        extra.push(format!("{k}={v}"))
                    }
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let mut status = "200 OK";
        if let Some(rest) = path.strip_prefix("/fail-once/") {
            let key = rest.split(['/', '?']).next().unwrap_or("").to_string();
            let first = seen.lock().map(|mut s| s.insert(key)).unwrap_or(false);
            if first {
                status = "503 Service Unavailable";
            }
        }
        if let Some(rest) = path.strip_prefix("/sleep/") {
            let ms: u64 = rest
                .split(['/', '?'])
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        extra.sort();
        let text = format!(
            "{name}\npath={path}\nauthority={authority}\n{}\n",
            extra.join("\n")
        );
        let resp = format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\nx-upstream: {name}\r\ncontent-length: {}\r\n\r\n{text}",
            text.len()
        );
        if out.write_all(resp.as_bytes()).is_err() || close {
            return;
        }
    }
}
