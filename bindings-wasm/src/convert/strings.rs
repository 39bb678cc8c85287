//! The strings the JS side keeps, so a string crosses once and later
//! decisions name it by its index.

use super::keep_string;
use meshroute::fasthash::FastMap;

/// Most strings kept for the page; a full table is cleared and refilled by
/// the next decisions (names from the mesh come back at once; strings made
/// from requests, like passthrough hosts, do not pile up).
const MAX_KNOWN_STRINGS: usize = 4096;
/// Most bytes of kept strings.
const MAX_KNOWN_BYTES: usize = 256 * 1024;
/// Longer strings always cross as fresh text.
const MAX_KNOWN_LEN: usize = 512;

/// The strings the JS side holds (`table`), and their indexes.
pub(crate) struct Strings {
    index: FastMap<Box<str>, u32>,
    /// Strings lent by the mesh by address and length: the mesh is
    /// immutable and outlives this table (both belong to one `Mesh`), so an
    /// address names one content, found without hashing or comparing it.
    by_address: FastMap<(usize, usize), u32>,
    pub(super) table: js_sys::Array,
    bytes: usize,
}

impl Strings {
    pub(crate) fn new() -> Strings {
        Strings {
            index: FastMap::default(),
            by_address: FastMap::default(),
            table: js_sys::Array::new(),
            bytes: 0,
        }
    }

    /// Starts over when full (called between values, never during one:
    /// a tape's indexes must all name the same table).
    pub(super) fn make_room(&mut self) {
        if self.index.len() >= MAX_KNOWN_STRINGS
            || self.by_address.len() >= MAX_KNOWN_STRINGS
            || self.bytes >= MAX_KNOWN_BYTES
        {
            self.index.clear();
            self.by_address.clear();
            self.table = js_sys::Array::new();
            self.bytes = 0;
        }
    }

    /// The index of `s` in the JS table, adding it when there is room.
    pub(super) fn known(&mut self, s: &str) -> Option<u32> {
        if let Some(&i) = self.index.get(s) {
            return Some(i);
        }
        if s.len() > MAX_KNOWN_LEN
            || self.index.len() >= MAX_KNOWN_STRINGS
            || self.bytes + s.len() > MAX_KNOWN_BYTES
        {
            return None;
        }
        let i = keep_string(&self.table, s);
        self.index.insert(s.into(), i);
        self.bytes += s.len();
        Some(i)
    }

    /// [`Strings::known`] for a string lent by the mesh (see `by_address`).
    pub(super) fn known_lent(&mut self, s: &str) -> Option<u32> {
        let address = (s.as_ptr() as usize, s.len());
        if let Some(&i) = self.by_address.get(&address) {
            return Some(i);
        }
        let i = self.known(s)?;
        if self.by_address.len() < MAX_KNOWN_STRINGS {
            self.by_address.insert(address, i);
        }
        Some(i)
    }
}
