//! xxHash64 and the route hash policies (Envoy `HashPolicyImpl`) that feed
//! ring hash and Maglev.

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

fn read_u64(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    if let Some(s) = b.get(i..i + 8) {
        a.copy_from_slice(s);
    }
    u64::from_le_bytes(a)
}

fn read_u32(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(i..i + 4) {
        a.copy_from_slice(s);
    }
    u64::from(u32::from_le_bytes(a))
}

fn round(acc: u64, lane: u64) -> u64 {
    acc.wrapping_add(lane.wrapping_mul(P2))
        .rotate_left(31)
        .wrapping_mul(P1)
}

fn merge(acc: u64, v: u64) -> u64 {
    (acc ^ round(0, v)).wrapping_mul(P1).wrapping_add(P4)
}

/// xxHash64 of `data` with `seed` (the XXH64 reference algorithm, as Envoy's
/// `HashUtil::xxHash64`).
pub fn xxhash64(data: &[u8], seed: u64) -> u64 {
    let len = data.len();
    let mut i = 0;
    let mut h = if len >= 32 {
        let mut v = [
            seed.wrapping_add(P1).wrapping_add(P2),
            seed.wrapping_add(P2),
            seed,
            seed.wrapping_sub(P1),
        ];
        while i + 32 <= len {
            for (k, lane) in v.iter_mut().enumerate() {
                *lane = round(*lane, read_u64(data, i + 8 * k));
            }
            i += 32;
        }
        let mut h = v[0]
            .rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18));
        for lane in v {
            h = merge(h, lane);
        }
        h
    } else {
        seed.wrapping_add(P5)
    };
    h = h.wrapping_add(len as u64);
    while i + 8 <= len {
        h = (h ^ round(0, read_u64(data, i)))
            .rotate_left(27)
            .wrapping_mul(P1)
            .wrapping_add(P4);
        i += 8;
    }
    if i + 4 <= len {
        h = (h ^ read_u32(data, i).wrapping_mul(P1))
            .rotate_left(23)
            .wrapping_mul(P2)
            .wrapping_add(P3);
        i += 4;
    }
    for &byte in data.get(i..).unwrap_or(&[]) {
        h = (h ^ u64::from(byte).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

/// One route hash policy (what Istio's `consistentHash` key produces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashPolicy {
    /// `httpHeaderName`: all values of the header, sorted, hashed as one byte stream.
    Header(String),
    /// `httpCookie`: the cookie's value; when absent and `ttl` is set, a
    /// generated value (see [`HashOutcome::generated_cookie`]).
    Cookie {
        /// Cookie name.
        name: String,
        /// Whether Istio set a `ttl` (only then is a cookie generated).
        generate_when_absent: bool,
    },
    /// `useSourceIp`: the downstream remote IP string (no port).
    SourceIp,
    /// `httpQueryParameterName`: first value of the parameter, undecoded.
    QueryParameter(String),
}

/// The parts of a request hash policies read.
#[derive(Debug, Clone, Copy, Default)]
pub struct HashInput<'a> {
    /// Request headers, each `(name, value)` entry as received.
    pub headers: &'a [(&'a str, &'a str)],
    /// The query string, without `?`.
    pub query: Option<&'a str>,
    /// Downstream remote IP (no port).
    pub source_ip: Option<&'a str>,
    /// Downstream remote address `ip:port` (cookie generation).
    pub remote_address: Option<&'a str>,
    /// Downstream local address `ip:port` (cookie generation).
    pub local_address: Option<&'a str>,
}

/// The request hash and, when a cookie was generated, its value (the proxy
/// answers with `Set-Cookie`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HashOutcome {
    /// The combined hash; `None` = no policy produced one (the balancer then draws `R()`).
    pub hash: Option<u64>,
    /// A cookie value the proxy generated and sets on the response.
    pub generated_cookie: Option<String>,
}

/// Evaluate policies in order; values combine as `rotl(acc, 1) XOR new`.
pub fn request_hash(policies: &[HashPolicy], input: &HashInput<'_>) -> HashOutcome {
    let mut out = HashOutcome::default();
    for policy in policies {
        let value = match policy {
            HashPolicy::Header(name) => header_hash(input.headers, name),
            HashPolicy::Cookie {
                name,
                generate_when_absent,
            } => match cookie_value(input.headers, name) {
                Some(v) => Some(xxhash64(v.as_bytes(), 0)),
                None if *generate_when_absent => {
                    let addresses = format!(
                        "{}{}",
                        input.remote_address.unwrap_or(""),
                        input.local_address.unwrap_or("")
                    );
                    let generated = format!("{:016x}", xxhash64(addresses.as_bytes(), 0));
                    let h = xxhash64(generated.as_bytes(), 0);
                    out.generated_cookie = Some(generated);
                    Some(h)
                }
                None => None,
            },
            HashPolicy::SourceIp => input.source_ip.map(|ip| xxhash64(ip.as_bytes(), 0)),
            HashPolicy::QueryParameter(name) => {
                query_value(input.query, name).map(|v| xxhash64(v.as_bytes(), 0))
            }
        };
        if let Some(v) = value {
            out.hash = Some(match out.hash {
                Some(acc) => acc.rotate_left(1) ^ v,
                None => v,
            });
        }
    }
    out
}

fn header_hash(headers: &[(&str, &str)], name: &str) -> Option<u64> {
    let mut values: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
        .collect();
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let joined: Vec<u8> = values.concat().into_bytes();
    Some(xxhash64(&joined, 0))
}

/// The first value of cookie `name` in the `cookie` headers (surrounding
/// double quotes removed, as Envoy does).
pub fn cookie_value<'a>(headers: &[(&str, &'a str)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| {
            v.strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or(v)
        })
}

fn query_value<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xxhash64_reference_vectors() {
        assert_eq!(xxhash64(b"", 0), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxhash64(b"a", 0), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(xxhash64(b"abc", 0), 0x44BC_2CF5_AD77_0999);
        assert_eq!(
            xxhash64(b"Nobody inspects the spammish repetition", 0),
            0xFBCE_A83C_8A37_8BF1
        );
        assert_ne!(xxhash64(b"abc", 1), xxhash64(b"abc", 0));
    }

    #[test]
    fn header_values_are_sorted_and_concatenated() {
        let a = [("x-user", "b"), ("X-User", "a")];
        let b = [("x-user", "ab")];
        let h = |headers: &[(&str, &str)]| {
            request_hash(
                &[HashPolicy::Header("x-user".into())],
                &HashInput {
                    headers,
                    ..Default::default()
                },
            )
            .hash
        };
        assert_eq!(h(&a), h(&b));
        assert_eq!(h(&b), Some(xxhash64(b"ab", 0)));
        assert_eq!(h(&[("other", "x")]), None);
    }

    #[test]
    fn cookie_generated_only_with_ttl() {
        let headers = [("cookie", "a=1; session=\"xyz\"")];
        let input = HashInput {
            headers: &headers,
            remote_address: Some("10.0.0.9:5555"),
            local_address: Some("10.0.0.1:80"),
            ..Default::default()
        };
        let found = request_hash(
            &[HashPolicy::Cookie {
                name: "session".into(),
                generate_when_absent: true,
            }],
            &input,
        );
        assert_eq!(
            found,
            HashOutcome {
                hash: Some(xxhash64(b"xyz", 0)),
                generated_cookie: None
            }
        );
        let absent = request_hash(
            &[HashPolicy::Cookie {
                name: "user".into(),
                generate_when_absent: false,
            }],
            &input,
        );
        assert_eq!(absent.hash, None);
        let generated = request_hash(
            &[HashPolicy::Cookie {
                name: "user".into(),
                generate_when_absent: true,
            }],
            &input,
        );
        let value = generated.generated_cookie.unwrap_or_default();
        assert_eq!(
            value,
            format!("{:016x}", xxhash64(b"10.0.0.9:555510.0.0.1:80", 0))
        );
        assert_eq!(generated.hash, Some(xxhash64(value.as_bytes(), 0)));
    }

    #[test]
    fn query_parameter_first_value_and_source_ip() {
        let input = HashInput {
            query: Some("a=1&user=j%20s&user=x"),
            source_ip: Some("10.1.2.3"),
            ..Default::default()
        };
        assert_eq!(
            request_hash(&[HashPolicy::QueryParameter("user".into())], &input).hash,
            Some(xxhash64(b"j%20s", 0))
        );
        assert_eq!(
            request_hash(&[HashPolicy::QueryParameter("none".into())], &input).hash,
            None
        );
        let both = request_hash(
            &[HashPolicy::SourceIp, HashPolicy::QueryParameter("a".into())],
            &input,
        )
        .hash;
        assert_eq!(
            both,
            Some(xxhash64(b"10.1.2.3", 0).rotate_left(1) ^ xxhash64(b"1", 0))
        );
    }
}
