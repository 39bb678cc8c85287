//! `port` in a match: the listener port a match exists on (Istio builds one
//! route table per port; a match for another port is left out of it).

/// A match block's `port`; `0` or absent means every port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortMatcher {
    /// The port, when the match names one.
    pub port: Option<u32>,
}

impl PortMatcher {
    /// From the port as written (`0` counts as none).
    pub fn new(port: Option<u32>) -> Self {
        PortMatcher {
            port: port.filter(|p| *p != 0),
        }
    }

    /// Whether the match exists on `listener_port`.
    pub fn holds(&self, listener_port: u32) -> bool {
        self.port.is_none_or(|p| p == listener_port)
    }
}

#[cfg(test)]
mod tests {
    use super::PortMatcher;

    #[test]
    fn zero_and_absent_mean_every_port() {
        assert!(PortMatcher::new(Some(0)).holds(9080));
        assert!(PortMatcher::new(None).holds(80));
        assert!(PortMatcher::new(Some(9080)).holds(9080));
        assert!(!PortMatcher::new(Some(9080)).holds(80));
    }
}
