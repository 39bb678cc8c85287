//! The request in: reading what `packRequest` (src/convert.js) packed
//! into wasm memory into the kept `Request`.

use super::pack_request;
use super::tape::Tape;
use meshroute::decide::{Protocol, RequestFields};
use meshroute::limits;
use meshroute::Request;
use wasm_bindgen::JsValue;

/// First size of the buffers `packRequest` writes into (bytes, entries).
const PACKED_START: (usize, usize) = (4 * 1024, 256);
/// Larger requests take the JSON path (bounds the buffers kept): more
/// entries than the core accepts headers would be refused anyway.
const PACKED_MAX: (usize, usize) = (1024 * 1024, 16 + 2 * limits::MAX_REQUEST_HEADERS);

/// A length entry for an absent field (`ABSENT` in src/convert.js).
const ABSENT: u32 = u32::MAX;

/// Builds the request from what `packRequest` wrote (layout documented
/// there): the strings' text one after the other, and the length entries.
/// `None` when they are not in that layout, or hold more headers than the
/// core accepts (the JSON path then gives the core's error).
#[cfg(test)]
pub(crate) fn request_from_packed(text: &str, lengths: &[u32]) -> Option<Request> {
    let mut request = Request::new("");
    refill_request(&mut request, text, lengths).ok()?;
    Some(request)
}

/// A packed request being read: the text, where the next string starts,
/// and the length entries still to read.
struct Packed<'a> {
    text: &'a str,
    at: usize,
    lengths: std::slice::Iter<'a, u32>,
}

impl<'a> Packed<'a> {
    /// The next entry.
    fn entry(&mut self) -> Result<u32, ()> {
        self.lengths.next().copied().ok_or(())
    }

    /// The next string (its length is the next entry).
    fn string(&mut self) -> Result<&'a str, ()> {
        let len = self.entry()?;
        self.string_of(len)
    }

    fn string_of(&mut self, len: u32) -> Result<&'a str, ()> {
        let end = self.at.checked_add(len as usize).ok_or(())?;
        // `get` checks the bounds and that both ends are char boundaries.
        let s = self.text.get(self.at..end).ok_or(())?;
        self.at = end;
        Ok(s)
    }

    /// The next optional string: `None` when its entry is ABSENT.
    fn optional(&mut self) -> Result<Option<&'a str>, ()> {
        match self.entry()? {
            ABSENT => Ok(None),
            len => self.string_of(len).map(Some),
        }
    }
}

/// Replaces every field of `r` with the request `packRequest` wrote,
/// reusing `r`'s buffers: a request refilled for each call stops allocating
/// once they are large enough. `Err` (with `r` partly filled) when `text`
/// and `lengths` are not in its layout or hold more headers than the core
/// accepts. Lengths instead of separators: nothing to scan for here.
pub(crate) fn refill_request(r: &mut Request, text: &str, lengths: &[u32]) -> Result<(), ()> {
    let mut p = Packed {
        text,
        at: 0,
        lengths: lengths.iter(),
    };
    // Read in the layout's order.
    let host = p.string()?;
    let port = match p.entry()? {
        ABSENT => None,
        port => Some(u16::try_from(port).map_err(|_| ())?),
    };
    let method = p.optional()?;
    let path = p.optional()?;
    let scheme = p.optional()?;
    let gateway = p.optional()?;
    let protocol = match p.entry()? {
        ABSENT | 0 => Protocol::Http,
        1 => Protocol::Tls,
        2 => Protocol::Tcp,
        _ => return Err(()),
    };
    r.refill(&RequestFields {
        host,
        port,
        method,
        path,
        scheme,
        gateway,
        protocol,
        sni: p.optional()?,
        destination_ip: p.optional()?,
        namespace: p.optional()?,
    });
    let label_count = p.entry()?;
    r.source
        .try_refill_labels((0..label_count).map(|_| Ok((p.string()?, p.string()?))))?;
    let mut count = 0;
    let pairs = std::iter::from_fn(|| {
        let name = p.string().ok()?;
        count += 1;
        Some(match p.string() {
            Ok(value) if count <= limits::MAX_REQUEST_HEADERS => Ok((name, value)),
            _ => Err(()),
        })
    });
    r.headers.try_refill(pairs)?;
    // Every byte read: anything else is not this layout.
    if p.at == text.len() {
        Ok(())
    } else {
        Err(())
    }
}

impl Tape {
    /// Reads the JS request object into [`Tape::request`] without JSON text
    /// when it is plainly well formed (see `packRequest`); false means: parse
    /// it through JSON instead (for anything unusual, and for the core's errors).
    pub(crate) fn read_request(&mut self, request: &JsValue) -> bool {
        if self.packed.is_empty() {
            self.packed.resize(PACKED_START.0, 0);
            self.lengths.resize(PACKED_START.1, 0);
        }
        loop {
            let entries = pack_request(
                request,
                self.packed.as_mut_ptr() as usize,
                self.packed.len(),
                self.lengths.as_mut_ptr() as usize,
                self.lengths.len(),
            );
            if entries == -2 {
                if self.packed.len() >= PACKED_MAX.0 && self.lengths.len() >= PACKED_MAX.1 {
                    return false;
                }
                let bytes = (self.packed.len() * 4).min(PACKED_MAX.0);
                let words = (self.lengths.len() * 4).min(PACKED_MAX.1);
                self.packed.resize(bytes, 0);
                self.lengths.resize(words, 0);
                continue;
            }
            let Some(lengths) = usize::try_from(entries)
                .ok()
                .and_then(|n| self.lengths.get(..n))
            else {
                return false;
            };
            // The first entry is the number of bytes written.
            let Some((text, lengths)) = lengths.split_first().and_then(|(&written, lengths)| {
                let bytes = self.packed.get(..written as usize)?;
                Some((std::str::from_utf8(bytes).ok()?, lengths))
            }) else {
                return false;
            };
            return refill_request(&mut self.request, text, lengths).is_ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One entry of a packed request, as `packRequest` writes it.
    #[derive(Clone, Copy)]
    enum Entry<'a> {
        Text(&'a str),
        Number(u32),
        Absent,
    }
    use Entry::{Absent, Number, Text};

    /// The text and length entries `packRequest` writes for `entries`
    /// (without the leading byte count, which `read_request` takes off).
    fn packed(entries: &[Entry<'_>]) -> (String, Vec<u32>) {
        let mut text = String::new();
        let mut lengths = Vec::new();
        for entry in entries {
            lengths.push(match *entry {
                Text(s) => {
                    text.push_str(s);
                    s.len() as u32
                }
                Number(n) => n,
                Absent => ABSENT,
            });
        }
        (text, lengths)
    }

    fn read(entries: &[Entry<'_>]) -> Option<Request> {
        let (text, lengths) = packed(entries);
        request_from_packed(&text, &lengths)
    }

    /// host, then the nine fixed fields absent, and no labels.
    const BARE: [Entry<'static>; 11] = [
        Text("h"),
        Absent,
        Absent,
        Absent,
        Absent,
        Absent,
        Absent,
        Absent,
        Absent,
        Absent,
        Number(0),
    ];

    /// BARE with headers.
    fn with_headers<'a>(headers: &[(&'a str, &'a str)]) -> Vec<Entry<'a>> {
        let mut entries = BARE.to_vec();
        for (name, value) in headers {
            entries.extend([Text(name), Text(value)]);
        }
        entries
    }

    #[test]
    fn a_packed_request_reads_as_the_json_one() {
        let mut entries = with_headers(&[("End-User", "jason"), ("x-b", "one"), ("x-b", "two")]);
        entries[0] = Text("reviews");
        entries[1] = Number(9080);
        entries[3] = Text("/reviews/0");
        let fast = read(&entries).expect("packed request");
        let json: Request = serde_json::from_str(
            r#"{"host":"reviews","port":9080,"path":"/reviews/0","headers":{"End-User":"jason","x-b":["one","two"]}}"#,
        )
        .expect("json request");
        assert_eq!(fast, json);
        assert_eq!(fast.method, "GET");
        assert_eq!(fast.headers.get("end-user").as_deref(), Some("jason"));
        assert_eq!(fast.headers.get("x-b").as_deref(), Some("one,two"));
    }

    #[test]
    fn every_packed_field_lands_in_its_place() {
        let r = read(&[
            Text("h"),
            Absent,
            Text("PUT"),
            Text("/p\0é"),
            Text("https"),
            Text("ns/gw"),
            Number(1),
            Text("sni.example"),
            Text("10.0.0.1"),
            Text("team"),
            Number(2),
            Text("app"),
            Text("a"),
            Text("version"),
            Text("v1"),
        ])
        .expect("packed request");
        assert_eq!(r.port, None);
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.gateway.as_str()),
            ("PUT", "/p\0é", "ns/gw")
        );
        assert_eq!(r.scheme.as_deref(), Some("https"));
        assert_eq!(r.protocol, Protocol::Tls);
        assert_eq!(r.sni.as_deref(), Some("sni.example"));
        assert_eq!(r.destination_ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(r.source.namespace, "team");
        assert_eq!(
            r.source.labels.get("version").map(String::as_str),
            Some("v1")
        );
        assert!(r.headers.is_empty());
        assert_eq!(read(&BARE).map(|r| r.protocol), Some(Protocol::Http));
    }

    #[test]
    fn a_refilled_request_keeps_nothing_of_the_one_before() {
        let mut full = with_headers(&[("a", "1"), ("b", "2")]);
        full[1] = Number(8080);
        full[4] = Text("https");
        full[7] = Text("sni");
        full[10] = Number(1);
        full.splice(11..11, [Text("app"), Text("x")]);
        let (text, lengths) = packed(&full);
        let mut request = Request::new("");
        assert_eq!(refill_request(&mut request, &text, &lengths), Ok(()));
        assert_eq!(request.headers.len(), 2);
        let (text, lengths) = packed(&with_headers(&[("c", "3")]));
        assert_eq!(refill_request(&mut request, &text, &lengths), Ok(()));
        let mut expected = Request::new("h");
        expected.headers.append("c", "3");
        assert_eq!(request, expected);
    }

    #[test]
    fn anything_not_in_the_layout_goes_the_json_way() {
        let with = |at: usize, entry: Entry<'static>| {
            let mut entries = BARE;
            entries[at] = entry;
            read(&entries)
        };
        // Port out of range, an unknown protocol code, a label count
        // without its pairs, an absent host, entries missing.
        assert_eq!(with(1, Number(70000)), None);
        assert_eq!(with(6, Number(3)), None);
        assert_eq!(with(10, Number(1)), None);
        assert_eq!(with(0, Absent), None);
        assert_eq!(read(&BARE[..4]), None);
        // A length past the text, one that splits a character, text left over.
        let (text, mut lengths) = packed(&BARE);
        lengths[0] = 2;
        assert_eq!(request_from_packed(&text, &lengths), None);
        let (_, lengths) = packed(&BARE);
        assert_eq!(request_from_packed("é", &lengths), None);
        assert_eq!(request_from_packed("hh", &lengths), None);
        // A header name without its value.
        let mut entries = BARE.to_vec();
        entries.push(Text("name"));
        assert_eq!(read(&entries), None);
        // The nearest good ones.
        assert!(read(&BARE).is_some());
        assert!(with(1, Number(65535)).is_some());
        assert!(with(6, Number(2)).is_some());
    }

    #[test]
    fn more_headers_than_the_limit_go_the_json_way_for_its_error() {
        let headers = vec![("n", "v"); limits::MAX_REQUEST_HEADERS];
        assert_eq!(
            read(&with_headers(&headers)).map(|r| r.headers.len()),
            Some(limits::MAX_REQUEST_HEADERS)
        );
        let over = vec![("n", "v"); limits::MAX_REQUEST_HEADERS + 1];
        assert_eq!(read(&with_headers(&over)), None);
    }
}
